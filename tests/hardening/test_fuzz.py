"""Short, bounded fuzzing in the test run (the long runs: ``python -m bench.fuzz``): the WeCom callback path
(XML and JSON envelopes, decryption, payload parsing), the command parser and the org importer never crash
with anything but their own error, never hang, and stay small."""

from __future__ import annotations

import base64
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import fuzz_aibot_payload, fuzz_app_xml, fuzz_callback_bytes, fuzz_command, fuzz_org_yaml

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=4096))
def test_callback_bodies_and_ciphertexts(data: bytes) -> None:
    fuzz_callback_bytes(data)


@FAST
@given(st.binary(max_size=2048))
def test_decrypted_app_xml(data: bytes) -> None:
    fuzz_app_xml(data)


@FAST
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=50),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
        max_leaves=30,
    )
)
def test_aibot_payloads(data: object) -> None:
    fuzz_aibot_payload(data)


@FAST
@given(st.text(max_size=300))
def test_command_parser(text: str) -> None:
    fuzz_command(text)


@FAST
@given(st.binary(max_size=4096))
def test_org_importer(data: bytes) -> None:
    fuzz_org_yaml(data)


def test_the_fuzz_targets_accept_real_inputs(tmp_path: Path) -> None:
    from config.settings import CONFIG_DIR

    fuzz_org_yaml((CONFIG_DIR / "example-org.yaml").read_bytes())
    fuzz_command("接单 #12")
    fuzz_callback_bytes(base64.b64encode(b"x" * 64))
