"""Everything that touches the wechaty packages directly, imported only when the adapter starts.

wechaty 0.10.7 (the last Python release) needs three kinds of help on Python 3.11; each is here, with why:

* ``wechaty`` itself does not import on 3.11 (see ``apply_python311_shim``). The adapter talks to the
  puppet service one layer down (``wechaty_puppet_service``) and never imports ``wechaty``; the shim is
  for callers that do, such as the unit tests that use wechaty's own fake puppet.
* ``PuppetService`` would ask ``api.chatie.io`` for an endpoint when none is configured, pings the endpoint
  with a blocking ``telnetlib`` call (3 s of frozen event loop when the host is down), and its ``stop()``
  asks the provider to stop the puppet -- logging the WeChat account out when linli merely restarts.
  ``make_puppet_service`` returns a subclass without those three behaviours.
* Its loggers print to their own handlers and one warning prints the token; ``tame_loggers`` routes them
  into linli's logging at WARNING and masks the token.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

WECHATY_LOGGERS = (
    "PuppetService",
    "WechatyPuppetServiceConfig",
    "FileBox",
    "WechatyPuppet.Schemas.Event",
    "WechatyPuppet.Schema.Base",
)


def apply_python311_shim() -> None:
    """Let ``import wechaty`` succeed on Python 3.11 (idempotent).

    ``wechaty.WechatyOptions`` is a dataclass whose field defaults to ``PuppetOptions()``. Since Python
    3.11, dataclasses reject any default whose class is unhashable as a "mutable default" (ValueError at
    import). ``PuppetOptions`` is an ``eq=True`` dataclass, so its ``__hash__`` is None. No wechaty
    release fixes this; giving it back ``object.__hash__`` (identity hashing, which is what Python 3.10
    used to check) makes the import work. Callers must then pass ``puppet_options=PuppetOptions()``
    explicitly, since the shared default instance would be mutated by every bot.
    """
    import wechaty_puppet.schemas.puppet as puppet_schema

    if puppet_schema.PuppetOptions.__hash__ is None:
        puppet_schema.PuppetOptions.__hash__ = object.__hash__


class _MaskSecret(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret and self.secret in record.getMessage():
            record.msg = record.getMessage().replace(self.secret, "***")
            record.args = None
        return True


def tame_loggers(token: str) -> None:
    """Send wechaty's loggers through linli's logging at WARNING and never let them print the token."""
    for name in WECHATY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.setLevel(logging.WARNING)
        logger.filters = [f for f in logger.filters if not isinstance(f, _MaskSecret)]
        logger.addFilter(_MaskSecret(token))


def import_puppet_service() -> Any:
    """Import ``wechaty_puppet_service`` (telnetlib's deprecation warning silenced: it is theirs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import wechaty_puppet_service

    return wechaty_puppet_service


def make_puppet_service(endpoint: str, token: str) -> Any:
    """A puppet-service client for ``endpoint`` that cannot reach a discovery service.

    The token goes in after construction: ``PuppetService.__init__`` logs it when given both.
    """
    service_module = import_puppet_service()
    from grpclib.client import Channel
    from wechaty_grpc.wechaty import PuppetStub  # type: ignore[import-untyped]
    from wechaty_puppet import PuppetOptions
    from wechaty_puppet.exceptions import WechatyPuppetConfigurationError
    from wechaty_puppet_service.utils import extract_host_and_port

    tame_loggers(token)

    class LinliPuppetService(service_module.PuppetService):  # type: ignore[misc, name-defined]
        channel: Any

        def _init_puppet(self) -> None:
            # Replaces the library's: no chatie.io lookup, no blocking telnet ping (the adapter probes
            # the endpoint asynchronously first), and the same :authority trick for the token.
            if not self.options.end_point:
                raise WechatyPuppetConfigurationError("linli needs an explicit puppet-service endpoint")
            host, port = extract_host_and_port(self.options.end_point)
            self.channel = Channel(host=host, port=port)
            # The Python client has no per-call metadata; puppet-service 1.x servers read the token from
            # the HTTP/2 :authority, which grpclib takes from this attribute.
            self.channel._authority = self.options.token
            self._puppet_stub = PuppetStub(self.channel)

        async def stop(self) -> None:
            # Close our side only; the library's stop() would also stop (log out) the provider's puppet.
            self._event_stream.remove_all_listeners()
            self._puppet_stub = None
            if self.channel is not None:
                self.channel.close()
                self.channel = None

    with warnings.catch_warnings():  # pyee 11 warns that AsyncIOEventEmitter moved; it is their import
        warnings.simplefilter("ignore", DeprecationWarning)
        puppet = LinliPuppetService(PuppetOptions(end_point=endpoint))
    puppet.options.token = token
    return puppet
