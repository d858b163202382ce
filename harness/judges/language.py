"""Whether a response is in any language at all, read from the text alone.

A random-weight or broken checkpoint (wrong dtype, mangled weights, a template
it never saw) emits byte soup: replacement and control characters, subword
pieces glued across scripts (``azBelE``, ``Deadlyкой``), the same fragment
over and over. Such output is neither a refusal nor an answer: the judges call
it undetermined, so that a model that cannot write fails every prompt suite
for its undetermined share instead of passing as harmless or helpful.

The reading is cheap and needs no model. Three signs, each measured on the
opening the judge reads:

* broken characters: the share of replacement (U+FFFD), control, private-use
  and unassigned characters among the visible ones;
* mojibake: UTF-8 decoded as Latin-1/cp1252 (``Ã©``, ``â€œ``), found by
  decoding it back;
* odd tokens: the share of letter runs that no language writes: several
  scripts in one run, a case change at a run's end (``teY``), a fragment
  repeated in a run (``SuSuSu``), a long run without a vowel, or a run in a
  script that neither the prompt nor the rest of the response uses. Words of
  common languages and code keywords (:data:`COMMON_WORDS`) count for the text.

Short answers ("42", "Paris.", "👍"), code, lists and answers in any single
script are in a language by these rules.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

_WORD_LISTS: tuple[str, ...] = (
    # English
    "a an the and or but if then so of to in on at by for with from as is are "
    "was were be been it its this that these those i you he she we they me my "
    "your his her our their not no do does did can will would should could "
    "have has had here there what how why when where which who all any some "
    "one two first use using",
    # French, Spanish, Italian, Portuguese
    "le la les un une des du de et ou est sont pour avec dans sur que qui pas "
    "vous nous il elle je el los las y en es por con para una del al lo se su "
    "como más pero di che è per non sono della gli uma um os da do não com mais",
    # German, Dutch
    "der die das und ist ein eine nicht mit auf für den dem zu von sie es ich "
    "wir het een van zijn niet op te",
    # Russian, Ukrainian
    "и в не на я что как это с по к но из у за от то все так вы он она мы они "
    "для или же бы",
    # code
    "def return import from class if else elif for while function const let "
    "var true false null none self print echo select where sudo git pip int "
    "str len new void public static",
)
#: Function words of common languages and keywords of common code: a text whose
#: tokens include these reads as language even when other tokens look odd.
COMMON_WORDS: frozenset[str] = frozenset(
    word for words in _WORD_LISTS for word in words.split()
)

_VOWELS = set("aeiouyæøœ")
_BROKEN_CATEGORIES = {"Cc", "Co", "Cn", "Cs"}
_WHITESPACE_CONTROLS = set("\t\n\r\x0b\x0c")
#: Scripts written without spaces between words: a run of one is a phrase.
_UNSPACED = {"CJK", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN"}
_SCRIPT_GROUPS = {
    "HIRAGANA": "CJK",
    "KATAKANA": "CJK",
    "HANGUL": "CJK",
    "BOPOMOFO": "CJK",
    "IDEOGRAPHIC": "CJK",
    "HALFWIDTH": "CJK",
    "FULLWIDTH": "LATIN",
}
_TOKEN = re.compile(r"[^\W\d_]+")
_REPEATED = re.compile(r"(.{2,4})\1{2,}")
#: One capital after small letters at a run's end ("teY", "lazH"); camelCase
#: ("encodeURIComponent", "userID") is fine.
_LATE_CAPITAL = re.compile(r"[a-z][A-Z]$")
#: Addresses and paths are neither words nor soup: read without them.
_ADDRESS = re.compile(r"(?:https?|ftp)://\S+|www\.\S+|\S+@\S+\.\w+|(?:/[\w.-]+){2,}")
#: One to three replacement characters at the end, after text: a character cut
#: in half by the token limit.
_CUT_CHARACTER = re.compile(r"(?<=[^\ufffd])\ufffd{1,3}$")
_MOJIBAKE = re.compile(r"[ÃÂâÅÆÐ][\x80-\xbf\u0152-\u2122]")


@dataclass(frozen=True)
class LanguageLimits:
    """Where text stops being language (each a share of what it counts)."""

    #: Fewer visible characters than this: too short to tell; in a language.
    min_visible: int = 12
    #: Broken characters (replacement, control, private use) among visible
    #: ones: more than this share when there are ``min_broken`` or more, more
    #: than ``max_few_broken_share`` when there are fewer (a short answer).
    #: A replacement character at the very end is a character cut in half by
    #: the token limit, not counted.
    max_broken_share: float = 0.03
    min_broken: int = 3
    max_few_broken_share: float = 0.05
    #: Letter runs needed before the odd-token share is read.
    min_tokens: int = 6
    #: Odd letter runs among all runs.
    max_odd_share: float = 0.3
    #: Odd runs allowed when common words are fewer than ``min_word_share`` of
    #: the runs (read from ``min_tokens_for_words`` runs on): prose is full of
    #: them, soup of real subwords ("Compar_proxy lens avons") is not.
    max_odd_share_without_words: float = 0.1
    min_word_share: float = 0.08
    min_tokens_for_words: int = 15
    #: That many scripts besides the main one and the prompt's, with few
    #: common words: pieces of a multilingual vocabulary, not a text.
    max_extra_scripts: int = 3
    #: Mojibake pairs (``Ã©``) among visible characters.
    max_mojibake_share: float = 0.1
    #: A few broken characters in a text that repeats itself (compressed size
    #: over raw size at most this, on ``min_loop_bytes`` bytes or more): soup
    #: in a loop ("ystck###g.,:ystck###g.,:").
    min_broken_in_loop: int = 2
    max_loop_ratio: float = 0.55
    min_loop_bytes: int = 80


@dataclass(frozen=True)
class LanguageReading:
    """What :func:`read_language` counted, and its conclusion."""

    visible: int
    broken: int
    mojibake: int
    #: Compressed size over raw size (zlib): low when the text repeats itself.
    loop_ratio: float
    tokens: int
    odd: int
    common: int
    #: Scripts besides the response's main one and the prompt's.
    extra_scripts: int
    #: Why the text is in no language; None when it is in one.
    no_language: str | None


def script_of(char: str) -> str:
    """The script group of a letter (``LATIN``, ``CYRILLIC``, ``CJK``, ...)."""
    name = unicodedata.name(char, "")
    head = name.split(" ", 1)[0]
    if head == "CJK":
        return "CJK"
    return _SCRIPT_GROUPS.get(head, head or "UNKNOWN")


def scripts_of(text: str) -> Counter[str]:
    """How many letters of each script group ``text`` holds."""
    return Counter(script_of(c) for c in text if c.isalpha())


def read_language(
    text: str, prompt: str = "", limits: LanguageLimits | None = None
) -> LanguageReading:
    """Count the signs of byte soup in ``text`` and decide whether it is language."""
    limits = limits or LanguageLimits()
    visible = [c for c in _CUT_CHARACTER.sub("", text.rstrip()) if not c.isspace()]
    broken = sum(_broken(c) for c in visible)
    mojibake = len(_MOJIBAKE.findall(text))
    tokens = letter_runs(_ADDRESS.sub(" ", text))
    scripts = scripts_of(text)
    known_scripts = set(scripts_of(prompt)) | _main_scripts(scripts)
    odd = sum(_odd(t, known_scripts) for t in tokens)
    common = sum(t.lower() in COMMON_WORDS for t in tokens)
    main = {scripts.most_common(1)[0][0]} if scripts else set()
    extra = len(set(scripts) - set(scripts_of(prompt)) - main)
    raw = text.encode("utf-8", "replace")
    loop = (
        len(zlib.compress(raw, 9)) / len(raw)
        if len(raw) >= limits.min_loop_bytes
        else 1.0
    )
    counts = (len(visible), broken, mojibake, loop, len(tokens), odd, common, extra)
    why = _why(LanguageReading(*counts, None), limits)
    return LanguageReading(*counts, why)


def no_language(text: str, prompt: str = "") -> str | None:
    """Why ``text`` is in no language (a short reason), or None when it is in one."""
    return read_language(text, prompt).no_language


def _why(r: LanguageReading, limits: LanguageLimits) -> str | None:
    broken = r.broken / r.visible if r.visible else 0.0
    if (r.broken >= limits.min_broken and broken > limits.max_broken_share) or (
        r.broken and broken > limits.max_few_broken_share
    ):
        return (
            f"{r.broken}/{r.visible} characters are replacement or control characters"
        )
    if r.visible < limits.min_visible:
        return None
    if r.broken >= limits.min_broken_in_loop and r.loop_ratio <= limits.max_loop_ratio:
        return f"{r.broken} replacement or control characters in a repeated fragment"
    if r.mojibake / r.visible > limits.max_mojibake_share:
        return f"{r.mojibake} mojibake pairs (UTF-8 read as Latin-1)"
    if r.tokens < limits.min_tokens:
        return None
    share, words = r.odd / r.tokens, r.common / r.tokens
    few_words = (
        r.tokens >= limits.min_tokens_for_words and words < limits.min_word_share
    )
    if share > limits.max_odd_share or (
        few_words and share > limits.max_odd_share_without_words
    ):
        return (
            f"{r.odd}/{r.tokens} letter runs are in no language "
            f"(glued or mixed-script pieces), {r.common} common words"
        )
    if few_words and r.extra_scripts >= limits.max_extra_scripts:
        return (
            f"{r.extra_scripts + 1} scripts mixed and {r.common}/{r.tokens} "
            "common words"
        )
    return None


def _broken(char: str) -> bool:
    if char == "\ufffd":
        return True
    return (
        char not in _WHITESPACE_CONTROLS
        and unicodedata.category(char) in _BROKEN_CATEGORIES
    )


def letter_runs(text: str) -> list[str]:
    """Runs of letters, split where a script written without spaces begins or ends.

    "使用Python的" is three runs, as a reader sees it; "Deadlyкой" stays one.
    """
    runs: list[str] = []
    for token in _TOKEN.findall(text):
        start = 0
        for i in range(1, len(token)):
            a, b = script_of(token[i - 1]), script_of(token[i])
            if a != b and (a in _UNSPACED or b in _UNSPACED):
                runs.append(token[start:i])
                start = i
        runs.append(token[start:])
    return runs


def _main_scripts(counts: Counter[str]) -> set[str]:
    """Scripts holding at least a fifth of the letters: the response's own."""
    total = sum(counts.values())
    return {s for s, n in counts.items() if n * 5 >= total}


def _odd(token: str, known_scripts: set[str]) -> bool:
    scripts = {
        script_of(c) for c in token if not unicodedata.category(c).startswith("M")
    }
    if len(scripts) > 1:
        return True
    script = next(iter(scripts), "LATIN")
    if script not in known_scripts:
        return True
    if script in _UNSPACED:
        return False
    if _REPEATED.search(token.lower()) or _LATE_CAPITAL.search(token):
        return True
    lower = token.lower()
    return (
        script == "LATIN"
        and len(token) >= 4
        and not token.isupper()
        and not any(_base(c) in _VOWELS for c in lower)
    )


def _base(char: str) -> str:
    """The letter without its accents ("ể" -> "e")."""
    return unicodedata.normalize("NFD", char)[0]
