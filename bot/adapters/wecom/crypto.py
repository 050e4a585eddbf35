"""The WXBizMsgCrypt scheme WeCom uses for callbacks, built on ``cryptography``.

Signature: ``sha1(''.join(sorted([token, timestamp, nonce, encrypt])))`` in lower-case hex.
Ciphertext: ``base64(AES-256-CBC(key, iv=key[:16], pkcs7_32(random16 | len_be32 | msg | receive_id)))``
where ``key = base64(EncodingAESKey + "=")`` and PKCS#7 pads to a multiple of **32** bytes (1..32).

Errors carry WeCom's library codes (-40001 … -40011) and names, so a log line or the
``linli wecom decrypt`` output can be matched against the admin console's documentation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
import struct
from enum import IntEnum
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException

BLOCK = 32
"""WeCom pads to 32 bytes, not to the AES block size of 16: pad values run from 1 to 32."""

_RANDOM_ALPHABET = string.ascii_letters + string.digits


class CryptoErrorCode(IntEnum):
    """The return codes of WeCom's WXBizMsgCrypt libraries (``ierror.py``)."""

    ValidateSignature_Error = -40001
    ParseXml_Error = -40002
    ComputeSignature_Error = -40003
    IllegalAesKey = -40004
    ValidateCorpid_Error = -40005
    EncryptAES_Error = -40006
    DecryptAES_Error = -40007
    IllegalBuffer = -40008
    EncodeBase64_Error = -40009
    DecodeBase64_Error = -40010
    GenReturnXml_Error = -40011


_JSON_NAMES = {
    CryptoErrorCode.ParseXml_Error: "ParseJson_Error",
    CryptoErrorCode.GenReturnXml_Error: "GenReturnJson_Error",
}


class WeComCryptoError(Exception):
    """A callback could not be verified or decrypted; ``code`` and ``name`` are WeCom's."""

    def __init__(self, code: CryptoErrorCode, detail: str = "", *, json_flavour: bool = False) -> None:
        self.code = code
        self.name = _JSON_NAMES.get(code, code.name) if json_flavour else code.name
        self.detail = detail
        super().__init__(f"{int(code)} {self.name}" + (f": {detail}" if detail else ""))

    @property
    def label(self) -> str:
        """``-40001 ValidateSignature_Error``: the stable form printed by the CLI and logged."""
        return f"{int(self.code)} {self.name}"


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43 or not encoding_aes_key.isascii() or not encoding_aes_key.isalnum():
        raise WeComCryptoError(CryptoErrorCode.IllegalAesKey, "EncodingAESKey must be 43 letters or digits")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:  # pragma: no cover - 43 alphanumerics always decode
        raise WeComCryptoError(CryptoErrorCode.IllegalAesKey, str(exc)) from exc
    if len(key) != 32:  # pragma: no cover - 43 base64 chars + "=" are 32 bytes
        raise WeComCryptoError(CryptoErrorCode.IllegalAesKey, "EncodingAESKey does not decode to 32 bytes")
    return key


def compute_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The lower-case hex SHA1 of the four strings, sorted and concatenated."""
    try:
        joined = "".join(sorted([token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode("utf-8")).hexdigest()
    except (UnicodeError, TypeError) as exc:
        raise WeComCryptoError(CryptoErrorCode.ComputeSignature_Error, str(exc)) from exc


def pkcs7_pad(data: bytes) -> bytes:
    """Pad to a multiple of 32 bytes; a full 32-byte block when ``data`` is already aligned."""
    pad = BLOCK - len(data) % BLOCK
    return data + bytes([pad]) * pad


def random_prefix() -> bytes:
    """16 random ASCII letters and digits, as WeCom's own libraries generate them."""
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(16)).encode("ascii")


class WeComCrypto:
    """Verifies, decrypts and encrypts callback payloads for one (token, key, receive id).

    ``receive_id`` is the CorpID for a self-built app's callbacks and ``""`` for an internal
    智能机器人 (AI bot).
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self._token = token
        self._key = _aes_key(encoding_aes_key)
        self._receive_id = receive_id.encode("utf-8")

    def __repr__(self) -> str:  # never show the token or key
        return f"WeComCrypto(receive_id={self._receive_id.decode('utf-8', 'replace')!r})"

    # -- signatures ---------------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return compute_signature(self._token, timestamp, nonce, encrypt)

    def verify_signature(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8")):
            raise WeComCryptoError(CryptoErrorCode.ValidateSignature_Error, "msg_signature does not match")

    # -- AES ----------------------------------------------------------------------------------

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: bytes | str, prefix: bytes | None = None) -> str:
        """Encrypt ``message`` (plus this receive id) and return the base64 ciphertext."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        random16 = random_prefix() if prefix is None else prefix
        if len(random16) != 16:
            raise WeComCryptoError(CryptoErrorCode.EncryptAES_Error, "random prefix must be 16 bytes")
        plain = random16 + struct.pack(">I", len(body)) + body + self._receive_id
        try:
            encryptor = self._cipher().encryptor()
            cipher = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        except ValueError as exc:  # pragma: no cover - padded input is always block aligned
            raise WeComCryptoError(CryptoErrorCode.EncryptAES_Error, str(exc)) from exc
        return base64.b64encode(cipher).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """Decrypt a base64 ciphertext, check its layout and receive id, return the message bytes."""
        try:
            cipher = base64.b64decode(encrypt.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WeComCryptoError(CryptoErrorCode.DecodeBase64_Error, str(exc)) from exc
        if not cipher or len(cipher) % 16:
            raise WeComCryptoError(
                CryptoErrorCode.DecryptAES_Error, f"ciphertext of {len(cipher)} bytes is not whole AES blocks"
            )
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(cipher) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or pad > len(plain):
            raise WeComCryptoError(CryptoErrorCode.IllegalBuffer, f"padding byte {pad} is out of range")
        content = plain[16:-pad]
        if len(content) < 4:
            raise WeComCryptoError(CryptoErrorCode.IllegalBuffer, "plaintext too short for a length field")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise WeComCryptoError(
                CryptoErrorCode.IllegalBuffer, "length field exceeds the plaintext (wrong EncodingAESKey?)"
            )
        message = content[4 : 4 + length]
        receive_id = content[4 + length :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise WeComCryptoError(
                CryptoErrorCode.ValidateCorpid_Error,
                f"receive id {receive_id.decode('utf-8', 'replace')!r} is not the expected one",
            )
        return message

    def decrypt_verified(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> bytes:
        """Check the signature first (as WeCom's libraries do), then decrypt."""
        self.verify_signature(signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    # -- passive replies ----------------------------------------------------------------------

    def encrypt_reply_xml(self, reply: str, nonce: str, timestamp: str, prefix: bytes | None = None) -> str:
        """The encrypted XML envelope of a passive reply to a self-built app callback."""
        encrypt = self.encrypt(reply, prefix)
        signature = self.signature(timestamp, nonce, encrypt)
        return (
            "<xml>\n"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>\n"
            "</xml>"
        )

    def encrypt_reply_json(
        self, reply: str, nonce: str, timestamp: str, prefix: bytes | None = None
    ) -> dict[str, str | int]:
        """The encrypted JSON envelope of a passive reply to a 智能机器人 callback."""
        encrypt = self.encrypt(reply, prefix)
        return {
            "encrypt": encrypt,
            "msgsignature": self.signature(timestamp, nonce, encrypt),
            "timestamp": int(timestamp),
            "nonce": nonce,
        }


# -- envelopes ----------------------------------------------------------------------------------


def parse_xml(data: bytes | str) -> Element:
    """Parse XML with entity expansion and DTDs refused; errors become -40002 ParseXml_Error."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(root, Element):  # pragma: no cover - defusedxml returns stdlib elements
        raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, "not an XML element")
    return root


def encrypt_from_xml(body: bytes | str) -> str:
    """The ``<Encrypt>`` text of a self-built app's callback body."""
    root = parse_xml(body)
    node = root.find("Encrypt")
    if node is None or not (node.text or "").strip():
        raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, "no <Encrypt> element")
    return (node.text or "").strip()


def encrypt_from_json(body: bytes | str) -> str:
    """The ``encrypt`` field of a 智能机器人 callback body."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, str(exc), json_flavour=True) from exc
    value = data.get("encrypt") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, 'no string "encrypt" field', json_flavour=True)
    return value.strip()


def encrypt_from_body(body: bytes | str) -> tuple[str, bool]:
    """The ciphertext of a captured callback body, XML or JSON; also whether it was JSON."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return encrypt_from_json(body), True
    return encrypt_from_xml(body), False
