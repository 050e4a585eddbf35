"""What the staff desk and its APIs say: results of actions, refusals, filter errors (pages: templates)."""

from __future__ import annotations

ACTION_VERBS = {
    "accept": "接单",
    "assign": "派单",
    "transfer": "转派",
    "escalate": "升级",
    "resolve": "办结",
    "reject": "不受理",
    "correct": "更正分类",
}

DONE = {
    "accept": "已接单，群里和反映人已收到通知。",
    "assign": "已派单，责任人已收到私信。",
    "transfer": "已转派，新的责任人已收到私信。",
    "escalate": "已升级，上一级网格已收到通知。",
    "resolve": "已办结，群里和反映人已收到通知。",
    "reject": "已标记为不予受理，群里已说明理由。",
    "correct": "分类已更正。",
}

UNKNOWN_ACTION = "没有这个操作。"
NOT_FOUND = "没有这件工单，或不在您的范围内。"
NEEDS_REASON = "不予受理需要写明理由。"
NEEDS_PERSON = "请选择接手的人。"
UNKNOWN_PERSON = "找不到这个人，或不在本社区的网格上。"
SAME_PERSON = "工单已经在这个人手上。"
BAD_KIND = "类别只能是小事或大事。"
BAD_DOMAIN = "服务领域不正确。"
NOTHING_TO_CORRECT = "分类没有变化。"
NOTE_TOO_LONG = "说明最多 500 个字。"
BAD_BODY = "请求格式不正确：需要 JSON 对象，至少包含 action。"


def not_allowed(ticket_id: int, action: str) -> str:
    return f"抱歉，#{ticket_id} 只能由责任人或上级网格{ACTION_VERBS.get(action, action)}。"


def illegal(ticket_id: int, state_title: str, action: str) -> str:
    return f"#{ticket_id} 目前{state_title}，不能{ACTION_VERBS.get(action, action)}。"


def no_higher_level(ticket_id: int) -> str:
    return f"#{ticket_id} 已在最高一级网格，无法再升级。"


def corrected_to_major(ticket_id: int, summary: str, by: str) -> str:
    return f"【大事】#{ticket_id}「{summary}」已由 {by} 更正为大事，将提交党群议事会，请关注。"


# --- Open311 ------------------------------------------------------------------------------------------

OPEN311_GROUP = "（Open311 来件）"
OPEN311_SENDER = "外部平台来件"
OPEN311_KEY_REQUIRED = "需要 api_key。"
OPEN311_KEY_INVALID = "api_key 无效或已撤销。"
OPEN311_UNKNOWN_SERVICE = "没有这个 service_code。"
OPEN311_NEEDS_DESCRIPTION = "请在 description 中写明问题。"
OPEN311_TOO_LONG = "description 太长。"
OPEN311_NEEDS_PLACE = (
    "请用 address_id（楼栋或小区编号）或 address_string（含楼栋或小区名称）说明位置；暂不支持只给经纬度。"
)
OPEN311_UNKNOWN_PLACE = "找不到这个楼栋或小区，或不在这个 api_key 的范围内。"
OPEN311_WRONG_JURISDICTION = "jurisdiction_id 与 api_key 所属社区不符。"
OPEN311_NOT_A_REPORT = "没能从描述中看出需要处理的事，请写明问题和具体位置。"
OPEN311_CLOSED_FOR_POSTS = "这个服务暂不接收提交。"
OPEN311_BAD_IDS = "service_request_id 应为以逗号分隔的数字。"
OPEN311_BAD_STATUS = "status 只能是 open 或 closed。"


def open311_no_service(code: str) -> str:
    return f"没有服务 {code}。"


def open311_no_request(request_id: str) -> str:
    return f"没有服务请求 {request_id}。"


def open311_bad_date(name: str) -> str:
    return f"{name} 应为带时区的 w3 时间，例如 2026-11-16T09:00:00+08:00。"
