"""``linli wecom decrypt``: the stable contract, through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.cli import main
from tests.wecom import vectors as v

BASE = ["wecom", "decrypt", "--token", v.TOKEN, "--aes-key", v.AES_KEY]


def _v4(nonce: str = v.V4_NONCE, receive_id: str = v.CORP_ID) -> list[str]:
    return [
        *BASE,
        "--receive-id",
        receive_id,
        "--signature",
        v.V4_SIGNATURE,
        "--timestamp",
        v.V4_TIMESTAMP,
        "--nonce",
        nonce,
        "--echostr",
        v.V4_ECHOSTR,
    ]


def _v5(body: Path, receive_id: str = v.CORP_ID, signature: str = v.V5_SIGNATURE) -> list[str]:
    return [
        *BASE,
        "--receive-id",
        receive_id,
        "--signature",
        signature,
        "--timestamp",
        v.V5_TIMESTAMP,
        "--nonce",
        v.V5_NONCE,
        "--body",
        str(body),
    ]


def _run(args: list[str]) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_echostr_prints_plaintext_verbatim() -> None:
    code, out, _ = _run(_v4())
    assert (code, out) == (0, v.V4_PLAIN)


def test_wrong_nonce_prints_the_code_and_name() -> None:
    code, out, err = _run(_v4(nonce=v.V4_BAD_NONCE))
    assert code == 1
    assert out == b"-40001 ValidateSignature_Error\n"
    assert "-40001 ValidateSignature_Error" in err


def test_xml_body(tmp_path: Path) -> None:
    body = tmp_path / "callback.xml"
    body.write_text(v.V5_XML, encoding="utf-8")
    code, out, _ = _run(_v5(body))
    assert (code, out) == (0, v.V5_PLAIN)


def test_xml_body_with_wrong_receive_id(tmp_path: Path) -> None:
    body = tmp_path / "callback.xml"
    body.write_text(v.V5_XML, encoding="utf-8")
    code, out, _ = _run(_v5(body, receive_id=""))
    assert (code, out) == (1, b"-40005 ValidateCorpid_Error\n")


def test_json_body_from_wechatpy_with_empty_receive_id(tmp_path: Path) -> None:
    plain = '{"msgid":"m1","chattype":"group","text":{"content":"@邻里 电梯坏咗"}}'
    envelope = WeChatCrypto(v.TOKEN, v.AES_KEY, "").encrypt_message(plain, "nonce9", "1700000000")
    encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    body = tmp_path / "callback.json"
    body.write_text(json.dumps({"encrypt": encrypt}), encoding="utf-8")
    args = [*BASE, "--receive-id", "", "--signature", signature, "--timestamp", "1700000000"]
    code, out, _ = _run([*args, "--nonce", "nonce9", "--body", str(body)])
    assert (code, out.decode()) == (0, plain)
    # The same body checked against a CorpID is refused by receive id, whatever the format.
    args[args.index("--receive-id") + 1] = v.CORP_ID
    code, out, _ = _run([*args, "--nonce", "nonce9", "--body", str(body)])
    assert (code, out) == (1, b"-40005 ValidateCorpid_Error\n")


@pytest.mark.parametrize(
    ("content", "label"),
    [
        ("<xml><Encrypt>", "-40002 ParseXml_Error"),
        ('{"encrypt": 5}', "-40002 ParseJson_Error"),
        ("<xml><Encrypt>%%%%</Encrypt></xml>", "-40001 ValidateSignature_Error"),
    ],
)
def test_bad_bodies(tmp_path: Path, content: str, label: str) -> None:
    body = tmp_path / "callback"
    body.write_text(content, encoding="utf-8")
    code, out, _ = _run(_v5(body))
    assert (code, out.decode()) == (1, label + "\n")


def test_non_base64_with_a_valid_signature(tmp_path: Path) -> None:
    from bot.adapters.wecom.crypto import compute_signature

    body = tmp_path / "callback.xml"
    body.write_text("<xml><Encrypt>%%%%</Encrypt></xml>", encoding="utf-8")
    signature = compute_signature(v.TOKEN, v.V5_TIMESTAMP, v.V5_NONCE, "%%%%")
    code, out, _ = _run(_v5(body, signature=signature))
    assert (code, out) == (1, b"-40010 DecodeBase64_Error\n")


def test_illegal_aes_key() -> None:
    args = _v4()
    args[args.index("--aes-key") + 1] = "tooshort"
    code, out, _ = _run(args)
    assert (code, out) == (1, b"-40004 IllegalAesKey\n")


def test_echostr_and_body_are_exclusive(tmp_path: Path) -> None:
    code, _, err = _run([*_v4(), "--body", str(tmp_path / "x")])
    assert code == 2
    assert "exactly one" in err
    code, _, _ = _run(_v4()[:-2])
    assert code == 2


def test_as_a_subprocess(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "bot", *_v4()], capture_output=True, check=False, timeout=60)
    assert (ok.returncode, ok.stdout) == (0, v.V4_PLAIN)
    bad = subprocess.run(
        [sys.executable, "-m", "bot", *_v4(nonce=v.V4_BAD_NONCE)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert (bad.returncode, bad.stdout) == (1, b"-40001 ValidateSignature_Error\n")
    body = tmp_path / "callback.xml"
    body.write_text(v.V5_XML, encoding="utf-8")
    piped = subprocess.run(
        [sys.executable, "-m", "bot", *_v5(Path("-"))],
        input=v.V5_XML.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert (piped.returncode, piped.stdout) == (0, v.V5_PLAIN)
