"""The wechaty adapter: personal WeChat groups through a puppet-service provider (docs/wechat.md).

Importing this package does not import wechaty; the adapter loads it when it starts, so the core runs
on Pythons where the ``wechaty`` extra is not installed.
"""

from bot.adapters.wechaty.adapter import WechatyAdapter

__all__ = ["WechatyAdapter"]
