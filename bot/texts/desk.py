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

# --- labels on the desk's pages ----------------------------------------------------------------------

FLAG_TITLES = {"urgent": "紧急", "check": "需核查", "attention": "紧急或需核查"}
REASON_TITLES = {"accept_on_time": "按时接单", "resolve": "办结", "good_rating": "好评", "bad_rating": "差评"}
HISTORY_TITLES = {
    "open": "登记",
    "assign": "派单",
    "accept": "接单",
    "resolve": "办结",
    "close": "关闭",
    "escalate": "升级",
    "transfer": "转派",
    "dispatch": "派给共建单位",
    "reject": "不受理",
    "withdraw": "撤销",
    "merge": "合并",
    "reopen": "重新打开",
    "report": "又有居民反映",
    "major": "转为大事",
    "remind": "提醒",
    "attach": "附照片",
    "rate": "评价",
    "correct": "更正分类",
}
OUTBOX_TITLES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "unknown": "发送结果不明",
    "skipped": "已撤回",
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


# --- signing in, the API, filters and charts ---------------------------------------------------------

SESSION_EXPIRED = "登录已过期，请重新登录。"
FOREIGN_ORIGIN = "请求来源不符。"
PAGE_EXPIRED = "页面已过期，请刷新后再试。"
LOGIN_PAGE_EXPIRED = "页面已过期，请刷新后再登录。"
TOO_MANY_TRIES = "尝试次数过多，请稍后再试。"
WRONG_PASSWORD = "用户名或密码不正确。"
TOKEN_MISSING = "请在 Authorization 头中提供有效的令牌（Bearer）。"
TOKEN_INVALID = "令牌无效或已撤销。"
NO_SUCH_PATH = "没有这个地址。"
METHOD_NOT_ALLOWED = "不支持这个请求方法。"
BAD_WEEKS = "weeks 应为 1 到 104 之间的整数"
FONT_MISSING = "图表字体缺失。"

FILTER_CONTROL_CHARS = "筛选条件含有无法识别的字符"
FILTER_OTHER_COMMUNITY = "只能查看本社区的工单"
FILTER_UNKNOWN_UNIT = "没有这个小区或楼栋"
FILTER_BAD_STATE = "状态不正确"
FILTER_BAD_KIND = "类别不正确"
FILTER_BAD_DOMAIN = "服务领域不正确"
FILTER_BAD_FLAG = "标记不正确"
FILTER_BAD_OVERDUE = "overdue 应为 1 或 0"
FILTER_BAD_PAGE = "页码或每页条数超出范围"


def filter_not_integer(name: str) -> str:
    return f"{name} 应为整数"


def filter_text_too_long(limit: int) -> str:
    return f"搜索词最多 {limit} 个字"


def password_too_short(limit: int) -> str:
    return f"密码至少需要 {limit} 个字符。"


CHART_DOMAINS = "{community} 各服务领域工单数"
CHART_WEEKLY = "{community} 每周新反映与办结"
CHART_RATES = "{community} 受理率与办结率（按周）"
CHART_DURATIONS = "{community} 接单与办结用时（中位数）"
ACCEPTANCE_RATE, RESOLUTION_RATE, PERCENT = "受理率", "办结率", "百分比"
ACCEPT_TIME, RESOLVE_TIME, HOURS = "接单用时", "办结用时", "小时"
NO_DATA = "暂无数据"

OPEN311_GROUP_NAME = "邻里网格"
OPEN311_SERVICE_DESCRIPTIONS = {
    "空间管理": "停车、楼道和公共空间占用、加装电梯、充电桩",
    "安全管理": "消防、燃气、电梯故障或困人、高空抛物、治安隐患",
    "环境卫生": "垃圾清运、卫生、异味，商铺和工地的噪声与油烟",
    "文化体育": "文体活动与场地",
    "政策宣传": "政策咨询：补贴、低保、房产证、户籍、选举",
    "日常生活": "水、电、燃气供应，网络，快递，维修与物业服务",
    "纠纷化解": "邻里纠纷：装修噪声、广场舞、宠物、漏水到楼下",
    "其他": "其他事项，包括独居老人多日未见等需要有人上门看看的情况",
}
