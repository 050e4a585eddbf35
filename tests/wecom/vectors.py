"""Public WXBizMsgCrypt test vectors (Source B in shared/WECOM.md: wechatpy's tests/test_crypto.py)."""

from __future__ import annotations

TOKEN = "123456"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID = "wx49f0ab532d5d035a"
AES_KEY_HEX = "916c4f115d94103cb15a998f74a0b71787603c398ebdf297d471a71140d2d5a4"

# V4: URL verification.
V4_SIGNATURE = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
V4_TIMESTAMP = "1411443780"
V4_NONCE = "437374425"
V4_ECHOSTR = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
V4_PLAIN = b"5927782489442352469"
V4_BAD_NONCE = "437374424"

# V5: message decryption (pad 1).
V5_SIGNATURE = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
V5_TIMESTAMP = "1411525903"
V5_NONCE = "461056294"
V5_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv2"
    "83dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2"
    "/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHq"
    "IrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9"
    "QaNWHp91eBdCRxthuL0="
)
V5_XML = (
    "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{V5_ENCRYPT}]]></Encrypt>\n"
    "<AgentID><![CDATA[1]]></AgentID>\n"
    "</xml>"
)
V5_PLAIN = (
    b"<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
    b"<FromUserName><![CDATA[messense]]></FromUserName>\n"
    b"<CreateTime>1411525903</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[test]]></Content>\n"
    b"<MsgId>4363689963896700987</MsgId>\n"
    b"<AgentID>1</AgentID>\n"
    b"</xml>"
)

# V6: deterministic encryption of a passive reply.
V6_PREFIX = b"1234567890123456"
V6_NONCE = "461056294"
V6_TIMESTAMP = "1411525903"
V6_REPLY = (
    "<xml>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
    "<ToUserName><![CDATA[messense]]></ToUserName>\n"
    "<AgentID>1</AgentID>\n"
    "<CreateTime>1411525903</CreateTime>\n"
    "</xml>"
)
V6_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnA"
    "tObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyK"
    "QmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ"
    "39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
V6_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"
V6_OUTPUT = (
    "<xml>\n"
    f"<Encrypt><![CDATA[{V6_ENCRYPT}]]></Encrypt>\n"
    f"<MsgSignature><![CDATA[{V6_SIGNATURE}]]></MsgSignature>\n"
    "<TimeStamp>1411525903</TimeStamp>\n"
    "<Nonce><![CDATA[461056294]]></Nonce>\n"
    "</xml>"
)
