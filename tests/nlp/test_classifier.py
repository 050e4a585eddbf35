"""Behaviour on messages written for these tests (not in the corpus): each case is a concept."""

from __future__ import annotations

import pytest

from nlp.classifier import RuleClassifier
from nlp.decision import Decision, Domain, Kind


def decide(classifier: RuleClassifier, text: str) -> Decision:
    return classifier.classify(text)


@pytest.mark.parametrize(
    ("text", "kind", "urgent", "domain"),
    [
        ("2栋楼梯间一股很浓的煤气味，谁家没关阀门", Kind.MAJOR, True, Domain.SAFETY),
        ("好似有少少煤氣味，可能係我諗多咗", Kind.MAJOR, True, Domain.SAFETY),
        ("5号楼电梯困人，里面是个孕妇", Kind.MAJOR, True, Domain.SAFETY),
        ("車房嗰邊著火，好多煙", Kind.MAJOR, True, Domain.SAFETY),
        ("对面楼有人从窗口扔下来一个玻璃瓶", Kind.MAJOR, True, Domain.SAFETY),
        ("有个老伯在花园晕倒了，快打120", Kind.MAJOR, True, Domain.OTHER),
        ("9栋独居的李婆婆三天没开门了", Kind.MAJOR, True, Domain.OTHER),
        ("我们整栋楼从早上就停电了", Kind.MAJOR, False, Domain.DAILY_LIFE),
        ("我们单元想申请加装电梯，谁来牵头", Kind.MAJOR, False, Domain.SPACE),
        ("地下车库能不能加几个充电桩", Kind.MAJOR, False, Domain.SPACE),
        ("4楼走廊灯不亮了", Kind.TRIVIAL, False, Domain.DAILY_LIFE),
        ("楼上每天晚上装修到十点，吵得孩子睡不着", Kind.TRIVIAL, False, Domain.DISPUTE),
        ("楼下大排档的油烟太大了", Kind.TRIVIAL, False, Domain.SANITATION),
        ("请问申请公租房需要什么材料", Kind.TRIVIAL, False, Domain.POLICY),
        ("我家停电了，是不是欠费了", Kind.TRIVIAL, False, Domain.DAILY_LIFE),
        ("多谢楼长！[强]", Kind.NOISE, False, None),
        ("明晚七点消防演练，听到警报不要惊慌", Kind.NOISE, False, None),
        ("专业通下水道、化粪池抽粪，电话联系", Kind.NOISE, False, None),
        ("电梯已经修好了，谢谢物业", Kind.NOISE, False, None),
        ("虚惊一场，不是着火，是邻居烧烤", Kind.NOISE, False, None),
        ("救命啊今天的菜好贵哈哈", Kind.NOISE, False, None),
    ],
)
def test_concepts(classifier: RuleClassifier, text: str, kind: Kind, urgent: bool, domain: Domain | None) -> None:
    decision = decide(classifier, text)
    assert (decision.kind, decision.urgent) == (kind, urgent), decision
    if domain is not None:
        assert decision.domain is domain, decision


def test_negation_cancels_the_alarm(classifier: RuleClassifier) -> None:
    assert decide(classifier, "楼道有煤气味").urgent
    calm = decide(classifier, "楼道没有煤气味，大家放心")
    assert calm.kind is Kind.NOISE
    assert not calm.urgent


def test_resolved_follow_up_is_noise_unless_it_broke_again(classifier: RuleClassifier) -> None:
    assert decide(classifier, "停电已经恢复了，谢谢").kind is Kind.NOISE
    assert decide(classifier, "电梯修好了又坏了，三天坏两次").kind is not Kind.NOISE


def test_question_about_the_fix_is_not_a_resolution(classifier: RuleClassifier) -> None:
    assert decide(classifier, "整栋楼停水，什么时候恢复?").kind is Kind.MAJOR


def test_repeated_complaint_escalates(classifier: RuleClassifier) -> None:
    once = decide(classifier, "楼下饭店的油烟好大")
    again = decide(classifier, "楼下饭店的油烟好大，投诉了好多次都没人管")
    assert once.kind is Kind.TRIVIAL
    assert again.kind is Kind.MAJOR
    assert again.domain is Domain.SANITATION


def test_hypothetical_danger_is_not_urgent(classifier: RuleClassifier) -> None:
    decision = decide(classifier, "楼道堆满杂物，万一着火怎么逃生")
    assert decision.kind is not Kind.NOISE
    assert not decision.urgent


def test_household_scope_turns_an_outage_down(classifier: RuleClassifier) -> None:
    assert decide(classifier, "停水了").kind is Kind.MAJOR
    assert decide(classifier, "我家停水了，别人家有水吗").kind is Kind.TRIVIAL


def test_rule_words_match_whole_tokens_only(classifier: RuleClassifier) -> None:
    assert decide(classifier, "今晚吃火锅").kind is Kind.NOISE
    assert decide(classifier, "有火！").urgent


def test_policy_words_need_a_question(classifier: RuleClassifier) -> None:
    assert decide(classifier, "低保怎么申请?").kind is Kind.TRIVIAL
    assert decide(classifier, "谢谢社区，低保批下来了").kind is Kind.NOISE


def test_decision_carries_its_reasons(classifier: RuleClassifier) -> None:
    decision = decide(classifier, "电梯困人了")
    assert "safety.lift_trapped" in decision.rules
    assert 0.0 < decision.confidence <= 1.0
    as_json = decision.as_json()
    assert set(as_json) == {"kind", "urgent", "check", "domain", "confidence", "rules"}
    assert as_json["check"] is False


def test_a_decision_is_never_both_urgent_and_check() -> None:
    with pytest.raises(ValueError, match="never both"):
        Decision(Kind.MAJOR, True, Domain.SAFETY, 0.9, (), check=True)


def test_deterministic(classifier: RuleClassifier) -> None:
    text = "楼上漏水到我家天花板，说了很多次都不理"
    assert len({decide(classifier, text) for _ in range(5)}) == 1


def test_empty_and_decorations_are_noise(classifier: RuleClassifier) -> None:
    for text in ["", "   ", "[强][强]", "👍👍", "@张三 "]:
        decision = decide(classifier, text)
        assert decision.kind is Kind.NOISE
        assert not decision.urgent


@pytest.mark.parametrize(
    ("text", "kind", "urgent", "domain"),
    [
        # written for the generalisation pass of issue 3; none of these is in a corpus
        ("厨房里一股臭鸡蛋味，越来越浓", Kind.MAJOR, True, Domain.SAFETY),
        ("轰的一声巨响，好像是6栋厨房爆炸了", Kind.MAJOR, True, Domain.SAFETY),
        ("有人从12楼往下泼水，淋到路过的阿姨", Kind.MAJOR, True, Domain.SAFETY),
        ("对面阿伯喺屋企大叫救命", Kind.MAJOR, True, Domain.OTHER),
        ("3号梯关着一个送外卖的小哥，出不去", Kind.MAJOR, True, Domain.SAFETY),
        ("7栋外墙的瓷砖松动了好几块", Kind.MAJOR, False, Domain.SAFETY),
        ("最近有人冒充社区工作人员上门收钱，好多老人被骗", Kind.MAJOR, False, Domain.SAFETY),
        ("楼顶的消防水泵坏了半年没人修", Kind.MAJOR, False, Domain.SAFETY),
        ("我们这几栋楼的老人补贴都没发，找谁问", Kind.MAJOR, False, Domain.POLICY),
        ("有只黄色的狗不拴绳，在花园追小孩", Kind.TRIVIAL, False, Domain.DISPUTE),
        ("单位要开居住证明，社区哪天可以盖章", Kind.TRIVIAL, False, Domain.POLICY),
        ("饭后的菜叶是厨余垃圾吗", Kind.TRIVIAL, False, Domain.SANITATION),
        ("我只狗走失咗，白色嘅，有冇人见到", Kind.TRIVIAL, False, Domain.OTHER),
        ("这首歌最近好火，大家听过没有", Kind.NOISE, False, None),
        ("转自公众号：家里燃气泄漏的正确处理方法", Kind.NOISE, False, None),
        ("包修包通，专业防水补漏三十年", Kind.NOISE, False, None),
    ],
)
def test_generalisation_concepts(
    classifier: RuleClassifier, text: str, kind: Kind, urgent: bool, domain: Domain | None
) -> None:
    decision = decide(classifier, text)
    assert (decision.kind, decision.urgent) == (kind, urgent), decision
    if domain is not None:
        assert decision.domain is domain, decision


def test_a_not_a_question_is_not_a_negation(classifier: RuleClassifier) -> None:
    # 要不要换物业 asks whether to change the property company; it does not refuse to
    decision = decide(classifier, "物业太差了，业主们要不要换物业")
    assert decision.kind is Kind.MAJOR
    assert decide(classifier, "不要换物业，现在这家挺好的").kind is Kind.NOISE


def test_a_negated_companion_word_does_not_confirm_a_rule(classifier: RuleClassifier) -> None:
    assert decide(classifier, "单元门没有坏，是你刷错了吧").kind is Kind.NOISE
    assert decide(classifier, "单元门坏了，关不上").kind is Kind.TRIVIAL


def test_a_rule_word_is_not_searched_for_shorter_alarming_words(classifier: RuleClassifier) -> None:
    # 打不着火 is a fault of a stove; the 着火 inside it is not a fire
    decision = decide(classifier, "燃气灶打不着火了，想找师傅看看")
    assert decision.kind is Kind.TRIVIAL
    assert not decision.urgent


def test_asking_the_council_makes_it_a_major_issue(classifier: RuleClassifier) -> None:
    alone = decide(classifier, "楼下广场舞音响太大声了")
    council = decide(classifier, "楼下广场舞音响太大声了，希望议事会定个时间规矩")
    assert alone.kind is Kind.TRIVIAL
    assert council.kind is Kind.MAJOR
    assert "@council" in council.rules


def test_a_quoted_message_is_not_the_writers_report(classifier: RuleClassifier) -> None:
    quoted = "「王姐：三楼是不是有煤气味？」\n- - - - - - - - - - - - - - -\n没闻到，我刚从三楼下来"
    assert decide(classifier, quoted).kind is Kind.NOISE
    confirmed = "「王姐：三楼是不是有煤气味？」\n- - - - - - - - - - - - - - -\n真的有，好浓，快叫燃气公司"
    assert decide(classifier, confirmed).urgent


def test_an_answered_question_keeps_its_answer(classifier: RuleClassifier) -> None:
    assert decide(classifier, "又停电？我这边正常啊").kind is Kind.NOISE
    assert decide(classifier, "水停了吗？刚才停了一下，现在好了").kind is Kind.NOISE
    assert decide(classifier, "停水了，请问什么时候恢复？").kind is not Kind.NOISE


def test_a_poll_asks_questions_but_reports_nothing(classifier: RuleClassifier) -> None:
    assert decide(classifier, "【投票】元宵游园会想玩什么？回1猜灯谜，回2包汤圆").kind is Kind.NOISE


def test_courtesy_round_a_long_report_does_not_make_it_chat(classifier: RuleClassifier) -> None:
    text = (
        "大家好，打扰一下，我是8栋的住户。隔壁这个月每天半夜都在打鼓，声音很大，"
        "我家小孩第二天还要上学，麻烦楼长帮忙说一下，谢谢大家，辛苦了"
    )
    decision = decide(classifier, text)
    assert (decision.kind, decision.domain) == (Kind.TRIVIAL, Domain.DISPUTE)


@pytest.mark.parametrize(
    ("text", "kind", "urgent", "domain"),
    [
        ("地下室有个大叔躺在地上，叫他也没反应", Kind.MAJOR, True, Domain.OTHER),
        ("後樓梯成條都係煙，唔知邊度燒緊嘢", Kind.MAJOR, True, Domain.SAFETY),
        ("有人翻窗进了一楼那户，现在还在里面", Kind.MAJOR, True, Domain.SAFETY),
        ("電體困咗人，喺七樓", Kind.MAJOR, True, Domain.SAFETY),
        ("厨房有股煤汽味", Kind.MAJOR, True, Domain.SAFETY),
        ("整个小区的热水都停了两天", Kind.MAJOR, False, Domain.DAILY_LIFE),
        ("管理费又要加价，业主们准备一起去维权", Kind.MAJOR, False, Domain.DAILY_LIFE),
        ("车位不够用，每晚都停到路边", Kind.MAJOR, False, Domain.SPACE),
        ("我的包裹在门口被人偷了", Kind.TRIVIAL, False, Domain.DAILY_LIFE),
        ("啲蚊多到爆，瞓唔着", Kind.TRIVIAL, False, Domain.SANITATION),
        ("菜心今日卖十二蚊一斤，好贵", Kind.NOISE, False, None),
        ("楼下公厕好脏，几天没人打扫", Kind.TRIVIAL, False, Domain.SANITATION),
        ("刚才火警钟响是测试，管理处说不用惊慌", Kind.NOISE, False, None),
        ("我真是要报警了，楼上吵到两点", Kind.TRIVIAL, False, Domain.DISPUTE),
    ],
)
def test_second_blind_round_concepts(
    classifier: RuleClassifier, text: str, kind: Kind, urgent: bool, domain: Domain | None
) -> None:
    decision = decide(classifier, text)
    assert (decision.kind, decision.urgent) == (kind, urgent), decision.rules
    if domain is not None:
        assert decision.domain is domain, decision.rules


@pytest.mark.parametrize(
    ("tokens", "faults"),
    [
        ("阳台 的 衣架 摇 不 上去 了", [(4, 5)]),  # 不 + a result
        ("按 了 没 声", [(2, 3)]),  # 没 + a missing state
        ("柜门 打不开", [(1, 1)]),  # a V不C token
        ("我 不 知道", []),
        ("是 不 是", []),  # a question, not a fault
        ("差不多 了", []),  # an idiom
        ("我家 没 事", []),
    ],
)
def test_fault_found_by_structure(tokens: str, faults: list[tuple[int, int]]) -> None:
    from nlp.classifier import _fault_spans

    assert _fault_spans(tokens.split()) == faults


@pytest.mark.parametrize(
    ("text", "kind", "domain"),
    [
        # a household object and an action that fails, in words no rule spells
        ("书房的窗扭了半天都关不严", Kind.TRIVIAL, Domain.DAILY_LIFE),
        ("浴室个花洒开到最大都唔出水", Kind.TRIVIAL, Domain.DAILY_LIFE),
        ("乒乓球台的网一直挂不上", Kind.TRIVIAL, Domain.CULTURE),
    ],
)
def test_object_with_structural_fault(classifier: RuleClassifier, text: str, kind: Kind, domain: Domain) -> None:
    decision = decide(classifier, text)
    assert (decision.kind, decision.domain) == (kind, domain), decision.rules


def test_degree_adverb_inside_a_phrase(classifier: RuleClassifier) -> None:
    decision = decide(classifier, "隔壁阿伯话胸口好痛，喘唔到气")
    assert (decision.kind, decision.urgent) == (Kind.MAJOR, True), decision.rules


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("7楼窗外那块招牌只剩一颗螺丝吊着，在风里一直晃，下面是公交站", Domain.SAFETY),  # hangs and swings now
        ("走廊里有个人拿着刀在追一个女的", Domain.SAFETY),  # a weapon in a hand
        ("他在楼下喊今晚要砍死姓王的，手里还拎着棍", Domain.SAFETY),  # a threat to kill
        ("停电两个钟了，楼上陈婆婆靠呼吸机，机器的电池快撑不住了", Domain.OTHER),  # life depends on the power
        ("停车场那辆红车里锁着个小宝宝，一直在哭", Domain.OTHER),  # a child locked in a car
        ("隔壁门缝里飘出烧炭的味道，敲门一直没人应", Domain.OTHER),  # charcoal behind a closed door
        ("一只大黄狗咬住了小孩的手不松口", Domain.SAFETY),
        ("楼上那个女孩说活着没意思，现在坐在天台边上", Domain.OTHER),
    ],
)
def test_danger_told_by_what_is_seen_is_urgent(classifier: RuleClassifier, text: str, domain: Domain) -> None:
    decision = decide(classifier, text)
    assert (decision.kind, decision.urgent) == (Kind.MAJOR, True), decision
    assert decision.domain is domain, decision


@pytest.mark.parametrize(
    "text",
    [
        "磨刀师傅今天在东门，要磨菜刀剪刀的下去",
        "医生说没有生命危险了，已经转到普通病房，谢谢大家",
        "脚手架昨天已经加固了，可以正常走",
    ],
)
def test_calm_messages_with_danger_words_raise_no_alarm(classifier: RuleClassifier, text: str) -> None:
    decision = decide(classifier, text)
    assert not decision.urgent, decision
    assert decision.kind is Kind.NOISE, decision


def test_a_letter_that_demands_action_is_not_read_as_a_notice(classifier: RuleClassifier) -> None:
    letter = (
        "关于小区门口夜市噪音扰民的投诉：夜市每晚营业到凌晨两点，依法应当公示的营业时间从未公示，"
        "临街三栋楼的住户长期无法休息。恳请城管部门依法查处，督促整改。"
    )
    assert decide(classifier, letter).kind is not Kind.NOISE
    assert decide(classifier, "【公示】本月公共收益明细已张贴，依法接受业主监督").kind is Kind.NOISE
