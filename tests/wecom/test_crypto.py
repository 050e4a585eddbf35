"""WXBizMsgCrypt: public vectors byte for byte, bad input by error code, round trips, wechatpy cross-check."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.adapters.wecom.crypto import (
    WeComCrypto,
    WeComCryptoError,
    encrypt_from_body,
    encrypt_from_json,
    encrypt_from_xml,
    pkcs7_pad,
)
from tests.wecom import vectors as v


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(v.TOKEN, v.AES_KEY, v.CORP_ID)


def _code(exc: pytest.ExceptionInfo[WeComCryptoError]) -> int:
    return int(exc.value.code)


# -- public vectors ---------------------------------------------------------------------------------


def test_v4_url_verification_decrypts_echostr(crypto: WeComCrypto) -> None:
    plain = crypto.decrypt_verified(v.V4_SIGNATURE, v.V4_TIMESTAMP, v.V4_NONCE, v.V4_ECHOSTR)
    assert plain == v.V4_PLAIN


def test_v4_wrong_nonce_is_a_signature_error(crypto: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt_verified(v.V4_SIGNATURE, v.V4_TIMESTAMP, v.V4_BAD_NONCE, v.V4_ECHOSTR)
    assert _code(exc) == -40001
    assert exc.value.label == "-40001 ValidateSignature_Error"
    assert crypto.signature(v.V4_TIMESTAMP, v.V4_BAD_NONCE, v.V4_ECHOSTR) == (
        "f89767f6fd40774771fe6c17908dc7ec82313f9a"
    )


def test_v5_message_with_pad_1_decrypts_byte_for_byte(crypto: WeComCrypto) -> None:
    encrypt = encrypt_from_xml(v.V5_XML)
    assert encrypt == v.V5_ENCRYPT
    plain = crypto.decrypt_verified(v.V5_SIGNATURE, v.V5_TIMESTAMP, v.V5_NONCE, encrypt)
    assert plain == v.V5_PLAIN
    assert len(plain) == 281


def test_v6_reply_encrypts_byte_for_byte(crypto: WeComCrypto) -> None:
    out = crypto.encrypt_reply_xml(v.V6_REPLY, v.V6_NONCE, v.V6_TIMESTAMP, prefix=v.V6_PREFIX)
    assert out == v.V6_OUTPUT


def test_aes_key_derivation_matches_the_vector() -> None:
    key = base64.b64decode(v.AES_KEY + "=")
    assert key.hex() == v.AES_KEY_HEX


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "short", v.AES_KEY + "x", v.AES_KEY[:-1] + "+", v.AES_KEY[:-1] + "é"])
def test_illegal_aes_key(key: str) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        WeComCrypto(v.TOKEN, key, v.CORP_ID)
    assert _code(exc) == -40004
    assert exc.value.name == "IllegalAesKey"


def test_wrong_receive_id_is_validate_corpid_error() -> None:
    other = WeComCrypto(v.TOKEN, v.AES_KEY, "ww_other_corp")
    with pytest.raises(WeComCryptoError) as exc:
        other.decrypt_verified(v.V5_SIGNATURE, v.V5_TIMESTAMP, v.V5_NONCE, v.V5_ENCRYPT)
    assert exc.value.label == "-40005 ValidateCorpid_Error"


def test_empty_receive_id_rejects_a_corp_ciphertext() -> None:
    aibot = WeComCrypto(v.TOKEN, v.AES_KEY, "")
    with pytest.raises(WeComCryptoError) as exc:
        aibot.decrypt(v.V5_ENCRYPT)
    assert _code(exc) == -40005


def test_wrong_token_is_a_signature_error() -> None:
    other = WeComCrypto("654321", v.AES_KEY, v.CORP_ID)
    with pytest.raises(WeComCryptoError) as exc:
        other.decrypt_verified(v.V5_SIGNATURE, v.V5_TIMESTAMP, v.V5_NONCE, v.V5_ENCRYPT)
    assert _code(exc) == -40001


def test_signature_is_checked_before_anything_is_decrypted(crypto: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt_verified("0" * 40, v.V5_TIMESTAMP, v.V5_NONCE, "not base64!!")
    assert _code(exc) == -40001


@pytest.mark.parametrize("encrypt", ["not base64!!", "abc", "ab=c"])
def test_non_base64_is_decode_base64_error(crypto: WeComCrypto, encrypt: str) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(encrypt)
    assert exc.value.label == "-40010 DecodeBase64_Error"


@pytest.mark.parametrize("cut", [1, 7, 16])
def test_truncated_ciphertext_is_refused(crypto: WeComCrypto, cut: int) -> None:
    raw = base64.b64decode(v.V5_ENCRYPT)[:-cut]
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(base64.b64encode(raw).decode())
    # Cut by a whole block the layout breaks (-40008 or -40005); otherwise AES refuses (-40007).
    assert _code(exc) in {-40007, -40008, -40005}
    if cut % 16:
        assert _code(exc) == -40007


def test_empty_ciphertext_is_decrypt_error(crypto: WeComCrypto) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt("")
    assert _code(exc) == -40007


def _raw_encrypt(key_b64: str, plain: bytes) -> str:
    key = base64.b64decode(key_b64 + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize("pad_byte", [0, 33, 200])
def test_bad_padding_is_illegal_buffer(crypto: WeComCrypto, pad_byte: int) -> None:
    plain = b"0123456789abcdef" + struct.pack(">I", 2) + b"hi" + v.CORP_ID.encode()
    plain += b"\x00" * (63 - len(plain)) + bytes([pad_byte])
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(_raw_encrypt(v.AES_KEY, plain))
    assert exc.value.label == "-40008 IllegalBuffer"


def test_length_field_beyond_the_plaintext_is_illegal_buffer(crypto: WeComCrypto) -> None:
    plain = pkcs7_pad(b"0123456789abcdef" + struct.pack(">I", 9999) + b"hi" + v.CORP_ID.encode())
    with pytest.raises(WeComCryptoError) as exc:
        crypto.decrypt(_raw_encrypt(v.AES_KEY, plain))
    assert _code(exc) == -40008


def test_wrong_aes_key_never_yields_plaintext() -> None:
    wrong = WeComCrypto(v.TOKEN, "a" * 43, v.CORP_ID)
    with pytest.raises(WeComCryptoError) as exc:
        wrong.decrypt(v.V5_ENCRYPT)
    assert _code(exc) in {-40008, -40005}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<xml><Encrypt>",
        b"<xml><ToUserName>x</ToUserName></xml>",
        b"<xml><Encrypt></Encrypt></xml>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<xml><Encrypt>&b;</Encrypt></xml>",
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml><Encrypt>x</Encrypt></xml>',
    ],
)
def test_malformed_or_dangerous_xml_is_parse_error(body: bytes) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        encrypt_from_xml(body)
    assert exc.value.label == "-40002 ParseXml_Error"


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"encrypt": 1}', b'{"encrypt": ""}', b'{"x": "y"}'])
def test_malformed_json_is_parse_json_error(body: bytes) -> None:
    with pytest.raises(WeComCryptoError) as exc:
        encrypt_from_json(body)
    assert exc.value.label == "-40002 ParseJson_Error"


def test_body_format_is_detected() -> None:
    assert encrypt_from_body(v.V5_XML.encode()) == (v.V5_ENCRYPT, False)
    assert encrypt_from_body(b' {"encrypt": "abc"}') == ("abc", True)


# -- round trips ------------------------------------------------------------------------------------


def _pad_of(message_len: int, receive_id: str) -> int:
    return 32 - (16 + 4 + message_len + len(receive_id.encode())) % 32


@pytest.mark.parametrize(("receive_id", "want_pad"), [(v.CORP_ID, 32), (v.CORP_ID, 22), ("", 32), ("", 22)])
def test_round_trip_with_chosen_pad(receive_id: str, want_pad: int) -> None:
    crypto = WeComCrypto(v.TOKEN, v.AES_KEY, receive_id)
    length = next(n for n in range(1, 200) if _pad_of(n, receive_id) == want_pad)
    message = b"x" * length
    encrypt = crypto.encrypt(message, prefix=b"abcdefghijklmnop")
    key = base64.b64decode(v.AES_KEY + "=")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = dec.update(base64.b64decode(encrypt)) + dec.finalize()
    assert raw[-1] == want_pad
    assert raw[-want_pad:] == bytes([want_pad]) * want_pad
    assert crypto.decrypt(encrypt) == message


def test_round_trip_chinese_json_with_empty_receive_id() -> None:
    crypto = WeComCrypto(v.TOKEN, v.AES_KEY, "")
    message = '{"text":{"content":"@邻里 3栋电梯坏咗"}}'
    envelope = crypto.encrypt_reply_json(message, nonce="n1", timestamp="1700000000")
    assert envelope["msgsignature"] == crypto.signature("1700000000", "n1", str(envelope["encrypt"]))
    assert crypto.decrypt(str(envelope["encrypt"])).decode() == message


def test_random_prefix_differs_between_encryptions(crypto: WeComCrypto) -> None:
    assert crypto.encrypt("same") != crypto.encrypt("same")


# -- cross-check against wechatpy (test-only dependency) ---------------------------------------------


@pytest.mark.parametrize("receive_id", [v.CORP_ID, ""])
@pytest.mark.parametrize("length", [0, 1, 11, 12, 27, 28, 43, 44, 300])
def test_wechatpy_ciphertexts_decrypt_here(receive_id: str, length: int) -> None:
    theirs = WeChatCrypto(v.TOKEN, v.AES_KEY, receive_id)
    ours = WeComCrypto(v.TOKEN, v.AES_KEY, receive_id)
    message = "<xml><Content><![CDATA[" + "邻" * length + "]]></Content></xml>"
    envelope = theirs.encrypt_message(message, "nonce42", "1700000000")
    encrypt = encrypt_from_xml(envelope)
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert ours.decrypt_verified(signature, "1700000000", "nonce42", encrypt).decode() == message


@pytest.mark.parametrize("receive_id", [v.CORP_ID, ""])
def test_our_ciphertexts_decrypt_in_wechatpy(receive_id: str) -> None:
    theirs = WeChatCrypto(v.TOKEN, v.AES_KEY, receive_id)
    ours = WeComCrypto(v.TOKEN, v.AES_KEY, receive_id)
    for length in range(0, 70):
        message = "<xml><Content>" + "a" * length + "</Content></xml>"
        encrypt = ours.encrypt(message)
        signature = ours.signature("1700000000", "n", encrypt)
        xml = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        assert theirs.decrypt_message(xml, signature, "1700000000", "n") == message
