"""Plan a query: what the user typed becomes concepts with weighted alternatives."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from search.analysis import is_latin, light_stem, tokens
from search.lexicon import Lexicon, Phrase
from search.plan import Alternative, Column, Concept, Kind, Plan
from search.translit import latin_key
from search.vocabulary import MAX_FUZZY_LEN, Vocabulary

# Bounds on the work one query may cause: words read, concepts planned (extra words ignored).
MAX_QUERY_TOKENS = 24
MAX_CONCEPTS = 12
MAX_EXPANSIONS = 8
# Proclitics (conjunction, then preposition) and the article, in the order they attach.
_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ل", "ك")
_ARTICLE = ("", "ال")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
# "Which" (أي, لأي, بأي …): the noun it asks about tells the kind of answer.
_WHICH = frozenset(p + w for p in ("", "و", "ف", "ل", "ب") for w in ("اي", "ايه")) | {"which"}
_ARTICLES = ("وال", "فال", "بال", "كال", "ال", "لل")
# Attached pronouns that light stemming keeps (ه and ها it strips, after other suffixes).
_PRONOUNS = ("ه", "ها", "هم", "هما", "هن", "كم", "نا")
_ENGLISH_SUFFIXES = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ing", ""))

Stemmer = Callable[[str], str]


def proclitic_bases(token: str) -> set[str]:
    """Return the token with each possible run of proclitics and article removed."""
    found = {token}
    for conj in _CONJ:
        for prep in _PREP:
            for art in _ARTICLE:
                prefix = conj + prep + art
                if prefix and token.startswith(prefix) and len(token) - len(prefix) >= 3:
                    found.add(token[len(prefix) :])
            if prep == "ل" and token.startswith(conj + "لل") and len(token) - len(conj) >= 5:
                found.add(token[len(conj) + 2 :])
    return found


def _has_article(token: str) -> bool:
    return any(token.startswith(c + p + "ال") for c in _CONJ for p in _PREP) or any(
        token.startswith(c + "لل") for c in _CONJ
    )


def clitic_family(
    token: str, vocab: Vocabulary, *, same_article: bool = False, strip: bool = True
) -> set[str]:
    """Return indexed words that are the token with other proclitics (or article).

    With strip=False the token is taken as a whole word (a glossary or alias entry): clitics
    are only added, so the ب of برقيه is never read as a preposition.
    """
    if len(token) > MAX_FUZZY_LEN:
        return set()
    family = set()
    article = _has_article(token)
    for base in proclitic_bases(token) if strip else {token}:
        for conj in _CONJ:
            for prep in _PREP:
                for art in _ARTICLE:
                    if same_article and bool(art) != article:
                        continue
                    form = conj + ("لل" if prep == "ل" and art else prep + art) + base
                    if form != token and vocab.has(form):
                        family.add(form)
    # Accusative tanween is written with a final alef (مقاتلاً); the bare noun is the same word.
    for form in (token[:-1] if token.endswith("ا") and len(token) > 4 else "", token + "ا"):
        if form and vocab.has(form):
            family.add(form)
    return family


def _top(terms: Iterable[str], vocab: Vocabulary) -> list[str]:
    return sorted(terms, key=lambda t: (-vocab.surface(t), t))[:MAX_EXPANSIONS]


def _top_stems(stems: Iterable[str], vocab: Vocabulary) -> list[str]:
    found = [s for s in stems if vocab.postings(Column.STEM, (s,))]
    return sorted(found, key=lambda s: (-vocab.postings(Column.STEM, (s,)), s))[:MAX_EXPANSIONS]


def _is_rare(token: str, vocab: Vocabulary) -> bool:
    return vocab.surface(token) <= vocab.passages // 20_000


def _split(token: str, vocab: Vocabulary) -> list[Phrase]:
    """Return the ways a run-together word (ديرالزور) splits into two indexed words."""
    if not 5 <= len(token) <= MAX_FUZZY_LEN or vocab.has(token):
        return []
    return [
        (token[:i], token[i:])
        for i in range(2, len(token) - 1)
        if vocab.has(token[:i]) and vocab.has(token[i:])
    ]


def _phrase_alternatives(
    phrase: Phrase, kind: Kind, stem: Stemmer, vocab: Vocabulary
) -> list[Alternative]:
    """Return a phrase as surface words, with proclitic forms and stems as weaker readings."""
    alts = [Alternative(Column.SURFACE, phrase, kind)]
    typed = kind is Kind.SURFACE  # what the user typed may carry clitics; lexicon words don't
    if len(phrase) == 1:
        alts += [
            Alternative(Column.SURFACE, (f,), Kind.CLITIC if typed else kind)
            for f in _top(clitic_family(phrase[0], vocab, strip=typed), vocab)
        ]
    else:
        first = phrase[0]
        alts += [
            Alternative(Column.SURFACE, (f, *phrase[1:]), kind)
            for f in _top(clitic_family(first, vocab, same_article=True, strip=typed), vocab)
        ]
        joined = "".join(phrase)
        if len(phrase) == 2 and vocab.has(joined):
            alts.append(Alternative(Column.SURFACE, (joined,), Kind.JOINED))
    stems = tuple(stem(t) for t in phrase)
    alts.append(Alternative(Column.STEM, stems, Kind.STEM))
    return alts


def derived_stems(token: str) -> set[str]:
    """Return the stems of the participles of a verb's triliteral root.

    A question asks with a verb (يدعم, "supports") where the news writes its participle
    (المدعومة, "supported"; الداعم, "supporting"). Only a word shaped like a bare verb has a
    root read off it: a three-letter word, an imperfect (يدعم) or a perfect in ت (قصفت). Other
    derived nouns are left out: مصدر ("source") is no form of يصدر ("issues") that a reader
    means (at 100,000 documents they cost two judged answers).
    """
    if len(token) > 4 and token[0] in "وف":
        token = token[1:]
    if len(token) == 4 and token[0] in "يتنا":
        root = token[1:]
    elif len(token) == 4 and token[-1] == "ت":
        root = token[:3]
    elif len(token) == 3:
        root = token
    else:
        return set()
    a, b, c = root[0], root[1], root[2]
    return {f"م{a}{b}و{c}", f"{a}ا{b}{c}"}


def pronoun_forms(token: str) -> set[str]:
    """Return the token with an attached pronoun, and without the one it has.

    Light stemming leaves these apart: عاصمتها ("its capital") is stemmed عاصمت, not عاصم;
    مقالاته ("his articles") مقالات, not مقال; and a verb with its object (ينتقده, "criticises
    him") is the imperfect of انتقد. Before a pronoun ة is written ت. A verb's perfect and
    imperfect are linked both ways (ينتقد / انتقد, يدعم / دعم), and so are its persons (يقع /
    تقع).
    """
    # A pronoun never follows the article (العاصمتها is no word): the word without it takes
    # one. Other proclitics stay: a word read as ف + ل + سطين is no word at all.
    article = next((p for p in _ARTICLES if token.startswith(p) and len(token) > len(p) + 2), "")
    base = token[len(article) :]
    bare = {base[: -len(p)] for p in _PRONOUNS if base.endswith(p) and len(base) > len(p) + 2}
    forms = bare | {b[:-1] + "ه" for b in bare if b.endswith("ت")}
    # One pronoun at most; a final ه may be one, or the ة of the word.
    if not base.endswith(tuple(p for p in _PRONOUNS if len(p) > 1)):
        written = base[:-1] + "ت" if base.endswith("ه") else base
        forms.update(written + p for p in ("ه", "ها", "هم"))
    if not article:
        # A verb may take a conjunction, not a preposition (كاليبرر is no يبرر).
        conj = {base[1:]} if base[0] in "وف" and len(base) > 4 else set()
        for verb in {base} | bare | conj:
            forms |= _verb_forms(verb)
    forms.discard(token)
    return forms


def _verb_forms(verb: str) -> set[str]:
    """Return a verb's other person, and its perfect or imperfect (يقع تقع, ينتقد انتقد)."""
    if len(verb) >= 3 and verb[0] in "يت":
        forms = {("ت" if verb[0] == "ي" else "ي") + verb[1:]}
        return forms | ({"ا" + verb[1:], verb[1:]} if len(verb) >= 4 else set())
    if len(verb) >= 4 and verb[0] == "ا":
        return {"ي" + verb[1:]}
    return {"ي" + verb} if len(verb) == 3 else set()


def _arabic_concept(token: str, stem: Stemmer, vocab: Vocabulary) -> Concept:
    alts = _phrase_alternatives((token,), Kind.SURFACE, stem, vocab)
    known_stems = {a.phrase[0] for a in alts if a.column is Column.STEM}
    attached = {stem(f) for f in pronoun_forms(token)} - known_stems
    alts += [
        Alternative(Column.STEM, (a,), Kind.STEM)
        for a in _top_stems(attached, vocab)
    ]
    known_stems |= attached
    alts += [
        Alternative(Column.STEM, (d,), Kind.VARIANT)
        for d in sorted(derived_stems(token) - known_stems)
        if vocab.postings(Column.STEM, (d,))
    ]
    alts += [Alternative(Column.SURFACE, p, Kind.JOINED) for p in _split(token, vocab)]
    if _is_rare(token, vocab):
        variants: set[str] = set()
        for base in proclitic_bases(token):
            variants |= vocab.neighbours(base)
        known = {a.phrase[0] for a in alts if len(a.phrase) == 1}
        alts += [
            Alternative(Column.SURFACE, (v,), Kind.VARIANT) for v in _top(variants - known, vocab)
        ]
        # A verb and its verbal noun often share a stem skeleton (احتفل / الاحتفالات).
        alts += [
            Alternative(Column.STEM, (v,), Kind.VARIANT)
            for v in sorted(vocab.same_skeleton(Column.STEM, stem(token)))[:MAX_EXPANSIONS]
        ]
    return Concept(token, tuple(alts))


def _alias_concept(
    span: Phrase, names: tuple[Phrase, ...], stem: Stemmer, vocab: Vocabulary
) -> Concept:
    alts = _phrase_alternatives(span, Kind.SURFACE, stem, vocab)
    for name in names:
        if name != span:
            alts += _phrase_alternatives(name, Kind.ALIAS, stem, vocab)
    if len(span) > 1:
        alts += [Alternative(Column.SURFACE, (t,), Kind.PART) for t in span]
    return Concept(" ".join(span), tuple(alts))


def _english_concept(
    span: Phrase, arabic: tuple[Phrase, ...], lexicon: Lexicon, stem: Stemmer, vocab: Vocabulary
) -> Concept:
    alts: list[Alternative] = []
    for phrase in arabic:
        alts += _phrase_alternatives(phrase, Kind.ENGLISH, stem, vocab)
        for name in lexicon.aliases.get(phrase, ()):
            if name != phrase:
                alts += _phrase_alternatives(name, Kind.ALIAS, stem, vocab)
    return Concept(" ".join(span), tuple(dict.fromkeys(alts)))


def _translit_concept(word: str, vocab: Vocabulary, name: bool) -> Concept:
    alts = [Alternative(Column.SURFACE, (word,), Kind.SURFACE)]
    key = latin_key(word)
    # A name has vowels; a string of consonants is noise, not something to transliterate.
    short = len(word) <= MAX_FUZZY_LEN
    if name and short and len(key) >= 2 and any(v in word for v in "aeiouy"):
        alts += [
            Alternative(Column.SURFACE, (t,), Kind.TRANSLIT) for t in _top(vocab.by_key(key), vocab)
        ]
    return Concept(word, tuple(alts))


def _english_lookup(toks: list[str], i: int, lexicon: Lexicon) -> tuple[int, tuple[Phrase, ...]]:
    """Return the length and Arabic phrases of the longest glossary match at i."""
    for n in range(min(lexicon.longest_gloss, len(toks) - i), 0, -1):
        span = tuple(toks[i : i + n])
        if span in lexicon.glossary:
            return n, lexicon.glossary[span]
        if n == 1:
            for suffix, repl in _ENGLISH_SUFFIXES:
                word = span[0]
                if word.endswith(suffix) and len(word) > len(suffix) + 2:
                    lemma = (word[: -len(suffix)] + repl,)
                    if lemma in lexicon.glossary:
                        return 1, lexicon.glossary[lemma]
    return 0, ()


def _alias_lookup(
    toks: list[str], i: int, lexicon: Lexicon
) -> tuple[int, Phrase, tuple[Phrase, ...]]:
    """Return the length, matched name and all names of the longest alias at i."""
    for n in range(min(lexicon.longest_alias, len(toks) - i), 0, -1):
        span = tuple(toks[i : i + n])
        for base in sorted(proclitic_bases(span[0]), key=len, reverse=True):
            name = (base, *span[1:])
            if name in lexicon.aliases:
                return n, name, lexicon.aliases[name]
    return 0, (), ()


def _join_neighbours(concepts: list[Concept], vocab: Vocabulary) -> list[Concept]:
    """Let two adjacent query words also match their run-together form (دير الزور)."""
    out = list(concepts)
    for k in range(len(out) - 1):
        a, b = out[k].label, out[k + 1].label
        joined = a + b
        if " " in a or " " in b or not vocab.has(joined):
            continue
        extra = Alternative(Column.SURFACE, (joined,), Kind.JOINED)
        for j in (k, k + 1):
            out[j] = replace(out[j], alternatives=(*out[j].alternatives, extra))
    return out


def _common_words(text: str) -> set[str]:
    """Return the Latin words written in lowercase in a text that capitalises others."""
    # Whoever writes capitals writes names with them: there, a lowercase English word the
    # glossary lacks ("sent", "hours") is not a name, and its sound-alikes would be noise.
    latin = _LATIN_WORD_RE.findall(text)
    names = {w.lower() for w in latin if w[0].isupper()}
    return {w.lower() for w in latin} - names if names else set()


def only_stopwords(text: str, lexicon: Lexicon) -> bool:
    """Tell whether a text has words and every one is a stopword (a question word alone)."""
    toks = list(dict.fromkeys(tokens(text)))[:MAX_QUERY_TOKENS]  # as plan_query reads them
    return bool(toks) and all(t in lexicon.stopwords for t in toks)


def question_kind(sequence: list[str], lexicon: Lexicon) -> tuple[str | None, Phrase]:
    """Return the kind of answer a query asks for and the question words that say so."""
    # An Arabic question word opens the question (after و or هل); an English one may stand
    # anywhere ("and when did ..."). The longest question words win: من هو over من.
    heads = [0]
    if sequence and sequence[0] == "هل":
        heads.append(1)
    best: tuple[str | None, Phrase, int] = (None, (), -1)
    for question in lexicon.questions:
        for ask in question.ask:
            n = len(ask)
            for i in range(len(sequence) - n + 1) if is_latin(ask[0]) else heads:
                found = tuple(sequence[i : i + n])
                glued = (found[0][1:], *found[1:]) if found and found[0][:1] in "وف" else ()
                if (found == ask or glued == ask) and n > len(best[1]):
                    best = (question.kind, ask, i)
    kind, ask, at = best
    if kind is None:
        kind, at = _which_kind(sequence, lexicon)
        ask = tuple(sequence[at : at + 1])
    return kind, tuple(sequence[at : at + len(ask)]) if kind else ()


def _which_kind(sequence: list[str], lexicon: Lexicon) -> tuple[str | None, int]:
    """Return the kind a which-question asks for and where its which stands.

    "Which agency" asks for a name, "in which town" for a place: the kind whose answer words
    hold the noun after "which" (with or without its article).
    """
    for i, token in enumerate(sequence[:-1]):
        if token in _WHICH:
            noun = sequence[i + 1]
            for question in lexicon.questions:
                if {(noun,), ("ال" + noun,)} & set(question.answer):
                    return question.kind, i
    return None, -1


def plan_query(text: str, vocab: Vocabulary, lexicon: Lexicon, stem: Stemmer = light_stem) -> Plan:
    """Analyse a query into concepts; stopwords drop out unless nothing else is left."""
    sequence = tokens(text)[:MAX_QUERY_TOKENS]
    kind, asked = question_kind(sequence, lexicon)
    toks = list(dict.fromkeys(tokens(text)))[:MAX_QUERY_TOKENS]
    common = _common_words(text)
    concepts: list[Concept] = []
    i = 0
    while i < len(toks) and len(concepts) < MAX_CONCEPTS:
        token = toks[i]
        if is_latin(token):
            n, arabic = _english_lookup(toks, i, lexicon)
            if n:
                span = tuple(toks[i : i + n])
                concept = _english_concept(span, arabic, lexicon, stem, vocab)
                concepts.append(replace(concept, words=span))
                i += n
                continue
        else:
            n, name, names = _alias_lookup(toks, i, lexicon)
            if n and (n > 1 or token not in lexicon.stopwords):
                concept = _alias_concept(name, names, stem, vocab)
                concepts.append(replace(concept, words=tuple(toks[i : i + n])))
                i += n
                continue
        if token not in lexicon.stopwords:
            concept = (
                _translit_concept(token, vocab, name=token not in common)
                if is_latin(token)
                else _arabic_concept(token, stem, vocab)
            )
            concepts.append(replace(concept, words=(token,)))
        i += 1
    concepts = _join_neighbours(concepts, vocab)
    if not concepts and toks:
        concepts = [
            Concept(t, (Alternative(Column.SURFACE, (t,), Kind.SURFACE),), (t,))
            for t in toks[:MAX_CONCEPTS]
        ]
    blanked = _blank(sequence, asked) if concepts and asked else sequence
    return Plan(tuple(concepts), tuple(blanked), kind)


def _blank(sequence: list[str], asked: Phrase) -> list[str]:
    """Return the sequence with its question words blanked: an answer does not hold them."""
    n = len(asked)
    for i in range(len(sequence) - n + 1):
        if tuple(sequence[i : i + n]) == asked:
            return [*sequence[:i], *[""] * n, *sequence[i + n :]]
    return sequence
