"""linli's settings: one typed object, loaded once and passed down.

Sources, highest first: environment variables (``LINLI_`` prefix, ``__`` for nesting), then the YAML
file named by ``LINLI_CONFIG`` (default ``linli.yaml`` in the working directory, optional).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from config.council import CouncilConfig
from config.schedule import ScheduleSettings, cron_trigger

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_FILE = "linli.yaml"


class SettingsError(Exception):
    """A settings file or variable is broken; the message names the file and the problem."""


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    trust_forwarded: bool = False
    """Behind a reverse proxy on this machine: take the scheme and client address from its
    X-Forwarded-Proto and X-Forwarded-For headers (only when the peer is a loopback address)."""


class DeskSettings(BaseModel):
    """The staff desk: dashboard logins and sessions (docs/desk.md)."""

    enabled: bool = True
    session_hours: float = Field(default=12, gt=0)
    """A session ends this long after login, however busy."""
    idle_minutes: float = Field(default=60, gt=0)
    """A session ends after this long without a request."""
    login_attempts: int = Field(default=5, gt=0)
    """Failed logins allowed per user name, and four times as many per client address, within the window."""
    login_window_minutes: float = Field(default=15, gt=0)
    chart_weeks: int = Field(default=12, ge=2, le=104)
    """How many weeks the dashboard's charts look back."""


class Open311Settings(BaseModel):
    """Open311 GeoReport v2 at /open311/v2 (docs/desk.md); api_key is a token from ``linli users token``."""

    enabled: bool = True
    public_reads: bool = False
    """Serve GET requests without an api_key (descriptions masked, no reporters); off: every call needs a key."""
    max_results: int = Field(default=1000, gt=0)
    default_days: int = Field(default=90, gt=0)


class AdminSettings(BaseModel):
    """A second listener for operators: /healthz with every detail. Off unless ``port`` is set."""

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)


class RateLimit(BaseModel):
    per_second: float = Field(default=1.0, gt=0)
    per_minute: int = Field(default=20, gt=0)


class WechatySettings(BaseModel):
    """Personal WeChat through a wechaty puppet-service provider (see docs/wechat.md)."""

    endpoint: str = ""
    """host:port of the puppet service; always explicit, linli never asks a discovery service."""
    token: SecretStr = SecretStr("")
    account_limit: RateLimit = RateLimit()
    """Pacing for everything the account sends (WeChat flags accounts that send too fast)."""
    room_limit: RateLimit = RateLimit(per_second=0.5, per_minute=10)
    """Pacing per conversation (a room, or one person for direct messages)."""
    reconnect_initial_seconds: float = Field(default=0.2, gt=0)
    reconnect_max_seconds: float = Field(default=30.0, gt=0)
    """Reconnection backs off from the initial delay, doubling, up to this ceiling; it never gives up."""
    connect_timeout_seconds: float = Field(default=20.0, gt=0, le=30)
    """start() fails with AdapterStartError if the account has not logged in by then."""
    send_wait_seconds: float = Field(default=10.0, ge=0)
    """How long a send waits for a lost connection to come back before raising SendError."""
    max_send_wait_seconds: float = Field(default=5.0, ge=0)
    """How long a send waits for its room's or the account's pacing before it goes back to the outbox
    (retried when the slot comes, others sent meanwhile): one busy room never holds up every room."""
    inbox_size: int = Field(default=10_000, gt=0)
    """Message ids waiting to be read and stored; beyond this the puppet's new ones are refused and logged
    (memory stays bounded under a flood)."""
    store_retry_seconds: float = Field(default=30.0, gt=0)
    """A message the core could not store (database away) is offered again, backing off up to this delay."""
    stop_drain_seconds: float = Field(default=15.0, ge=0)
    """On stop, how long the messages already taken from the puppet may take to be stored."""
    forward_content_types: list[str] = Field(default_factory=lambda: ["text", "image", "voice"])
    """Kinds of inbound message handed to the core; others (stickers, video, files, links…) are logged
    and dropped. Images and voice arrive with empty text and that content_type: the core attaches a
    photo to the sender's recent report and asks for text in answer to a voice message."""

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)


class WeComSettings(BaseModel):
    """Enterprise WeChat: a self-built app, a 智能机器人 (AI bot) and group robot webhooks.

    Each channel is enabled by its own credentials; see docs/wecom.md. Secrets are ``SecretStr`` and
    never logged.
    """

    # self-built app (自建应用): app messages out, one-to-one callbacks in
    corp_id: str = ""
    agent_id: int = 0
    secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    aes_key: SecretStr = SecretStr("")
    # 智能机器人 in callback (URL) mode: receives @-mentions in groups and one-to-one messages
    aibot_token: SecretStr = SecretStr("")
    aibot_aes_key: SecretStr = SecretStr("")
    aibot_id: str = ""
    """If set, callbacks for another bot id are logged and ignored."""
    aibot_name: str = ""
    """The bot's display name; if set every ``@name`` is removed, else only a leading @-mention."""
    # 智能机器人 in long-connection (WebSocket) mode: no public URL; ``aibot_id`` is the Bot ID
    aibot_secret: SecretStr = SecretStr("")
    """The bot's Secret for the long connection; with ``aibot_id`` it switches the mode on."""
    aibot_ws_url: str = "wss://openws.work.weixin.qq.com"
    aibot_heartbeat_seconds: float = Field(default=30.0, gt=0)
    aibot_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    """``linli run`` fails if the subscription is not confirmed within this time."""
    aibot_reconnect_max_seconds: float = Field(default=30.0, gt=0)
    """Reconnects start at once, then back off exponentially up to this delay, for as long as linli runs."""
    aibot_reply_ttl_seconds: float = Field(default=300.0, gt=0)
    """How long after a message linli still answers it over the long connection (WeCom: 6 minutes)."""
    aibot_send_per_minute: int = Field(default=30, gt=0)
    aibot_send_per_hour: int = Field(default=1000, gt=0)
    # outbound
    api_base: str = "https://qyapi.weixin.qq.com"
    webhooks: dict[str, SecretStr] = Field(default_factory=dict)
    """Group chat id (as the AI bot sees it) or any name → the robot webhook key."""
    chats: dict[str, str] = Field(default_factory=dict)
    """Known group chat ids → names. If not empty, messages from other chats are logged and dropped."""
    member_per_minute: int = Field(default=30, gt=0)
    member_per_hour: int = Field(default=1000, gt=0)
    webhook_per_minute: int = Field(default=20, gt=0)
    max_send_wait_seconds: float = Field(default=5.0, ge=0)
    """How long one send may wait for a rate-limit slot before handing the message back to the outbox."""
    response_url_ttl_seconds: float = Field(default=3300.0, gt=0)
    """WeCom keeps a response_url valid for an hour; stop using it a little earlier."""
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    # inbound
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    dedupe_size: int = Field(default=4096, gt=0)
    callback_window_seconds: float = Field(default=300, gt=0)
    """A callback whose signed timestamp is further than this from linli's clock is refused (403)."""
    callback_store_seconds: float = Field(default=4.0, gt=0, lt=5)
    """How long a callback waits for its message to be stored before answering 503 (WeCom waits 5 s)."""

    @property
    def app_enabled(self) -> bool:
        return bool(self.corp_id and self.secret.get_secret_value())

    @property
    def app_callback_enabled(self) -> bool:
        return bool(self.corp_id and self.token.get_secret_value() and self.aes_key.get_secret_value())

    @property
    def aibot_enabled(self) -> bool:
        return bool(self.aibot_token.get_secret_value() and self.aibot_aes_key.get_secret_value())

    @property
    def aibot_longconn_enabled(self) -> bool:
        return bool(self.aibot_id and self.aibot_secret.get_secret_value())

    @property
    def enabled(self) -> bool:
        return (
            self.app_enabled
            or self.app_callback_enabled
            or self.aibot_enabled
            or self.aibot_longconn_enabled
            or bool(self.webhooks)
        )


class NlpSettings(BaseModel):
    rules_file: Path = CONFIG_DIR / "rules.yaml"
    model_file: Path | None = CONFIG_DIR / "model.tsv"
    """The learned layer's weights (``linli nlp train``); None: the rules alone. A missing or refused file
    leaves the service running on the rules, reported as degraded in /healthz."""
    cache_dir: Path = Path(".cache/linli")
    max_text_chars: int = Field(default=4000, gt=0)
    watch_seconds: float = Field(default=2.0, ge=0)
    """How often the running service checks the rules file for changes; 0: only on SIGHUP."""


class EmergencySettings(BaseModel):
    fire: str = "119"
    medical: str = "120"
    police: str = "110"
    gas: str = "96777"
    lift: str = "96333"
    """The lift emergency line (电梯应急处置), given only when a lift is involved."""
    duty_phone: str = "0757-8888 0000"


class TicketSettings(BaseModel):
    merge_window_hours: float = Field(default=72, gt=0)
    merge_similarity: float = Field(default=0.4, gt=0, le=1)
    major_after_households: int = Field(default=3, ge=2)
    auto_close_hours: float = Field(default=72, gt=0)
    ratings_to_close: float = Field(default=0.5, gt=0, le=1)
    """A ticket several households reported closes when good ratings (3 or more) come from at least this
    share of them; one bad rating reopens it; nobody objecting closes it after ``auto_close_hours``."""
    photo_window_minutes: float = Field(default=10, gt=0)


class FloodSettings(BaseModel):
    """Limits on what linli answers one sender and one chat (urgent and ``check`` messages are never limited)."""

    enabled: bool = True
    per_sender_per_minute: int = Field(default=6, gt=0)
    per_sender_per_hour: int = Field(default=60, gt=0)
    per_chat_per_minute: int = Field(default=20, gt=0)
    repeat_seconds: float = Field(default=300, gt=0)
    """An answer identical to one the sender got this recently is collapsed into one short notice."""
    max_keys: int = Field(default=20_000, gt=0)
    """Senders, chats and answers remembered per process (least recently used forgotten first)."""


class RetentionSettings(BaseModel):
    """How long raw messages are kept (the retention job, daily); tickets keep their history regardless."""

    messages_days: int = Field(default=180, ge=1)
    """Messages older than this are deleted; those behind a ticket keep only the link (no text, no name)."""
    keep_unknown_group_text: bool = False
    """Chatter from groups the org does not know is stored without its text unless this is on."""
    cron: str = "30 3 * * *"
    """When the retention job runs (default: 03:30 every day)."""

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        cron_trigger(value, "Asia/Shanghai")
        return value


class PointRules(BaseModel):
    accept_on_time: int = 2
    accept_within_minutes: float = Field(default=240, gt=0)
    resolve: int = 3
    good_rating: int = 2
    bad_rating: int = -2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINLI_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = "sqlite+aiosqlite:///linli.db"
    org_file: Path | None = None
    timezone: str = "Asia/Shanghai"
    max_message_chars: int = Field(default=10_000, gt=0)
    database_retry_seconds: float = Field(default=120, ge=0)
    """How long an inbound message waits for a database that has gone away before it is given up."""
    http: HttpSettings = HttpSettings()
    admin: AdminSettings = AdminSettings()
    desk: DeskSettings = DeskSettings()
    open311: Open311Settings = Open311Settings()
    wechaty: WechatySettings = WechatySettings()
    wecom: WeComSettings = WeComSettings()
    nlp: NlpSettings = NlpSettings()
    emergency: EmergencySettings = EmergencySettings()
    tickets: TicketSettings = TicketSettings()
    points: PointRules = PointRules()
    flood: FloodSettings = FloodSettings()
    retention: RetentionSettings = RetentionSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    council: CouncilConfig = CouncilConfig()
    """The council's steps, household votes, the 楼长信箱 and monthly needs (docs/council.md)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, config_file_path()))


def config_file_path() -> Path:
    return Path(os.environ.get("LINLI_CONFIG", DEFAULT_CONFIG_FILE))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SettingsError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of keys")
    return data


def load_settings(**overrides: Any) -> Settings:
    """Read the YAML file (if any) under the environment and return the settings, or raise SettingsError."""
    path = config_file_path()
    explicit = "LINLI_CONFIG" in os.environ
    file_values: dict[str, Any] = {}
    if path.exists():
        file_values = _read_yaml(path)
    elif explicit:
        raise SettingsError(f"{path}: the settings file named by LINLI_CONFIG does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors())
        source = path if file_values else "environment"
        raise SettingsError(f"{source}: invalid settings: {problems}") from exc
