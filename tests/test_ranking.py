"""Ranking: phrase evidence, the best window, ties, and the answer a question asks for."""

from __future__ import annotations

import pytest

from search.analysis import capitalised, light_stem, tokens
from search.lexicon import load_lexicon
from search.plan import Column
from search.query import plan_query, question_kind
from search.ranking import Ranking, Scorer, best_window, saturate
from search.vocabulary import Vocabulary

# A background of unrelated passages, so that every test word is about equally rare.
BACKGROUND = [
    "وقال المتحدث إن الوضع كان هادئا طوال اليوم",
    "أعلنت الحكومة عن خطة جديدة للنقل العام",
    "شهدت الأسواق حركة نشطة قبل العيد",
    "The committee met again to discuss the budget",
] * 10


def _vocab(passages: list[str]) -> Vocabulary:
    vocab = Vocabulary()
    total = 0
    for text in passages + BACKGROUND:
        toks = tokens(text)
        total += len(toks)
        for term in set(toks):
            vocab.df[Column.SURFACE][term] = vocab.df[Column.SURFACE].get(term, 0) + 1
        for term in {light_stem(t) for t in toks}:
            vocab.df[Column.STEM][term] = vocab.df[Column.STEM].get(term, 0) + 1
    vocab.passages = len(passages) + len(BACKGROUND)
    vocab.avg_len = total / vocab.passages
    return vocab


def _rankings(query: str, passages: list[str], titles: list[str] | None = None) -> list[Ranking]:
    vocab = _vocab(passages)
    scorer = Scorer(plan_query(query, vocab, load_lexicon()), vocab)
    out = []
    for i, text in enumerate(passages):
        toks = tokens(text)
        title = " ".join(tokens(titles[i])) if titles else ""
        surface, stem = " ".join(toks), " ".join(map(light_stem, toks))
        out.append(scorer.rank(scorer.candidate(i, surface, stem, title, capitalised(text))))
    return out


@pytest.mark.parametrize(
    ("query", "better", "worse"),
    [
        # The shape, X من Y إلى Y: the words in the typed order, prepositions included.
        ("نقل من حلب إلى حلب", "تم نقل من حلب إلى حلب أمس", "حلب نقل من حمص حلب أمس"),
        (
            "قافلة من الرقة إلى دير الزور",
            "وصلت قافلة من الرقة إلى دير الزور مساء",
            "وصلت دير الزور قافلة من حمص ثم الرقة مساء",
        ),
        # Two words together in order beat the same two reordered.
        ("مركز مراقبة", "دمر مركز مراقبة للتنظيم", "دمر مراقبة مركز للتنظيم"),
        # Ordered closeness beats unordered closeness.
        ("الطريق الدولي", "قطع الطريق السريع الدولي", "قطع الدولي السريع الطريق"),
        # Contiguous beats scattered across the passage.
        (
            "إطلاق سراح الأسرى",
            "طالبت اللجنة بإطلاق سراح الأسرى فورا دون شروط مسبقة أو تأخير",
            "الأسرى طالبت اللجنة فورا دون شروط مسبقة بإطلاق أو تأخير سراح",
        ),
        # A stopword typed between two words counts when the passage has it there too.
        ("الاحتفالات في الأحياء", "عمت الاحتفالات في الأحياء", "عمت الاحتفالات الأحياء في"),
        # English words name concepts; their order in the query still favours closeness.
        ("fortified area", "دمرت منطقة محصنة للتنظيم", "دمرت منطقة كبيرة للتنظيم كانت محصنة"),
    ],
    ids=["x_from_y_to_y", "from_to_place", "order", "ordered_near", "scattered", "stop", "en"],
)
def test_phrase_evidence_ranks_first(query: str, better: str, worse: str) -> None:
    good, bad = _rankings(query, [better, worse])
    assert good.total > bad.total


FILLER = "وفي سياق آخر أعلنت البلدية عن افتتاح حديقة عامة جديدة في الحي الشرقي"


def test_a_verb_finds_its_participle() -> None:
    supported, other = _rankings(
        "من يدعم القوات في الهجوم", ["القوات المدعومة من واشنطن بدأت الهجوم", "القوات بدأت الهجوم"]
    )
    assert supported.total > other.total


def test_sentences_beyond_the_answer_cost_nothing_past_two_windows() -> None:
    answer = "قصف الطيران مستودع الذخيرة قرب الجسر"
    some = f"{answer}. " + ". ".join([FILLER] * 6)
    more = f"{answer}. " + ". ".join([FILLER] * 12)
    shorter, longer = _rankings("قصف مستودع الذخيرة", [some, more])
    assert shorter.total == pytest.approx(longer.total)


def test_words_in_one_sentence_beat_words_spread_over_a_passage() -> None:
    together = f"ودمرت الطائرات مركز اتصالات للتنظيم قرب الجسر. {FILLER}. {FILLER}"
    apart = f"ودمرت الطائرات مركز للتنظيم. {FILLER}. {FILLER}. {FILLER}. قرب الجسر اتصالات"
    good, bad = _rankings("مركز اتصالات الجسر", [together, apart])
    assert good.total > bad.total


@pytest.mark.parametrize(
    ("events", "values", "width", "best"),
    [
        ([(0, 0), (1, 1), (50, 2)], [1.0, 2.0, 4.0], 10, 4.0),
        ([(0, 0), (5, 1), (9, 2)], [1.0, 2.0, 4.0], 10, 7.0),
        ([(0, 0), (5, 1), (10, 2)], [1.0, 2.0, 4.0], 10, 6.0),
        ([(0, 0), (3, 0), (4, 1)], [1.0, 2.0], 2, 3.0),
        ([(0, 0), (1, 0), (50, 0)], [1.0], 10, saturate(2)),  # repeats saturate in the window
        ([], [1.0], 10, 0.0),
    ],
)
def test_best_window(
    events: list[tuple[int, int]], values: list[float], width: int, best: float
) -> None:
    assert best_window(events, values, width)[0] == pytest.approx(best)


def test_title_breaks_a_tie() -> None:
    text = "دمر الطيران مركز مراقبة للتنظيم"
    plain, titled = _rankings("مركز مراقبة", [text, text], ["أخبار اليوم", "مركز مراقبة"])
    assert titled < plain  # sorts first


@pytest.mark.parametrize(
    ("query", "kind", "asked"),
    [
        ("كم مقاتلا قتل؟", "quantity", ("كم",)),
        ("وكم عدد القتلى", "quantity", ("وكم",)),
        ("how many tanks were destroyed", "quantity", ("how", "many")),
        ("متى خسر الجيش القواعد", "time", ("متي",)),
        ("when did the army arrive", "time", ("when",)),
        ("من هو وزير الحرب", "who", ("من", "هو")),
        ("who killed the commander", "who", ("who",)),
        ("أين سقطت القذائف", "place", ("اين",)),
        ("هل أين سقطت القذائف", "place", ("اين",)),
        ("لماذا ابتعدت الطائرات", "cause", ("لماذا",)),
        ("why did the planes leave", "cause", ("why",)),
        ("قافلة من الرقة", None, ()),  # من inside the query is "from"
        ("مركز مراقبة", None, ()),
        ("لم يصدر عن التنظيم أي تعليق", None, ()),  # لم negates: not "why"
        # "Which" takes its kind from the noun it asks about.
        ("لأي وكالة تحدث المصدر", "who", ("لاي",)),
        ("في أي مدينة سقطت القذائف", "place", ("اي",)),
        ("في أية قرية سقطت القذائف", "place", ("ايه",)),
        ("أي يوم وصلت القافلة", "time", ("اي",)),
        ("which agency reported the attack", "who", ("which",)),
        ("which of them left", None, ()),
        ("أي خبر جديد", None, ()),
    ],
)
def test_question_kind(query: str, kind: str | None, asked: tuple[str, ...]) -> None:
    assert question_kind(tokens(query), load_lexicon()) == (kind, asked)


@pytest.mark.parametrize(
    ("query", "answer", "other"),
    [
        (
            "كم مقاتلا قتل في الهجوم؟",
            "قتل 40 مقاتلا في الهجوم على المطار",
            "قتل عدد من المقاتلين في الهجوم على المطار",
        ),
        (
            "how many fighters were killed in the attack",
            "قتل 40 مقاتلا في الهجوم على المطار",
            "قتل مقاتلو التنظيم في الهجوم على المطار",
        ),
        (
            "متى وصلت القافلة إلى المدينة؟",
            "وصلت القافلة إلى المدينة فجر الأربعاء",
            "وصلت القافلة إلى المدينة وسط إجراءات مشددة",
        ),
        (
            "من قصف مستودع الذخيرة؟",
            "قصف الطيران الروسي مستودع الذخيرة",
            "قصف مساء أمس مستودع الذخيرة",
        ),
        (
            "أين سقطت قذائف الهاون؟",
            "سقطت قذائف الهاون على حي الجورة",
            "سقطت قذائف الهاون وسط إجراءات مشددة",
        ),
        (
            "لماذا ابتعدت الطائرات عن القافلة؟",
            "ابتعدت الطائرات عن القافلة بسبب طلب روسي",
            "ابتعدت الطائرات عن القافلة وسط إجراءات مشددة",
        ),
        (
            "who met the delegation in the capital",
            "The governor said Ahmed Karimi met the delegation in the capital",
            "The governor said someone met the delegation in the capital",
        ),
        # The question word never has to appear: a passage holding it but no answer loses.
        (
            "متى وصلت القافلة إلى المدينة؟",
            "وصلت القافلة إلى المدينة يوم الخميس",
            "متى وصلت القافلة إلى المدينة سأل الأهالي",
        ),
    ],
    ids=[
        "how_many",
        "how_many_en",
        "when",
        "who",
        "where",
        "why",
        "who_en_capitals",
        "no_question_word",
    ],
)
def test_answer_of_the_asked_kind_ranks_first(query: str, answer: str, other: str) -> None:
    good, bad = _rankings(query, [answer, other])
    assert good.total > bad.total


def test_answer_far_from_the_question_words_earns_nothing() -> None:
    near = "وصلت القافلة إلى المدينة فجر الأربعاء"
    far = f"وصلت القافلة إلى المدينة. {FILLER}. {FILLER}. فجر الأربعاء"
    plain = "وصلت القافلة إلى المدينة"
    good, distant, none = _rankings("متى وصلت القافلة إلى المدينة؟", [near, far, plain])
    assert good.total > distant.total
    assert good.total > none.total


def _ranked_with_context(query: str, before: str, passage: str) -> tuple[Ranking, Ranking]:
    """Rank a passage alone and as the follower of the passage before it."""
    vocab = _vocab([before, passage])
    scorer = Scorer(plan_query(query, vocab, load_lexicon()), vocab)

    def cand(i: int, text: str) -> object:
        toks = tokens(text)
        return scorer.candidate(i, " ".join(toks), " ".join(map(light_stem, toks)), "")

    alone = scorer.rank(cand(1, passage))  # type: ignore[arg-type]
    return alone, scorer.rank(cand(1, passage), cand(0, before))  # type: ignore[arg-type]


STATED = "قالت القيادة إن طائرات الاستطلاع ابتعدت عن القافلة شرق البلاد مساء الجمعة"


@pytest.mark.parametrize(
    ("query", "passage", "borrows"),
    [
        # The cause opens the next passage: it borrows the concepts stated before it.
        ("لماذا ابتعدت الطائرات عن القافلة؟", "وبرر التحالف ذلك بأنه لضمان سلامة المدنيين", True),
        ("when did the planes move away from the convoy", "وجاء ذلك صباح السبت الماضي", True),
        # No answer of the asked kind near its start: nothing borrowed.
        ("لماذا ابتعدت الطائرات عن القافلة؟", "وقال التحالف إن الطائرات عادت إلى قواعدها", False),
        # Not a question: nothing borrowed.
        ("ابتعدت الطائرات عن القافلة", "وبرر التحالف ذلك بأنه جاء لضمان سلامة المدنيين", False),
        # Names stand everywhere: a who-question does not borrow.
        ("من أبعد الطائرات عن القافلة؟", "وقال وزير الدفاع إن القرار اتخذ صباحا", False),
    ],
    ids=["why", "when_en", "no_cue", "not_a_question", "who"],
)
def test_an_answer_borrows_the_question_from_the_passage_before(
    query: str, passage: str, borrows: bool
) -> None:
    alone, followed = _ranked_with_context(query, STATED, passage)
    assert (followed.total > alone.total) is borrows


def test_plan_keeps_the_typed_sequence() -> None:
    vocab = _vocab(["نقل من حلب إلى حلب"])
    plan = plan_query("كم نقل من حلب إلى حلب؟", vocab, load_lexicon())
    assert plan.sequence == ("", "نقل", "من", "حلب", "الي", "حلب")
    assert plan.question == "quantity"
    assert [c.words for c in plan.concepts] == [("نقل",), ("حلب",)]
