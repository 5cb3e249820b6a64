"""Credentials inside free text: where they are, and the text without them.

A credential is found two ways, in French and English alike:

- after a cue (`mdp`, `mot de passe`, `identifiant`, `login`, `pwd`, `password`, `code d'accès`…)
  whatever stands between them: punctuation (`:`, `=`, `->`, quotes, brackets) and up to
  `MAX_FILLERS` filler words (`est`, `is`, `du portail`, `provisoire`…). The first other word
  is the value; a second one joined to it by `/` is too (`login: jdupont / chaton1959`). A
  word saying there is no value (`oublié`, `reset`…) ends the search, and so does another cue
  (which is then read for itself). Before a password cue, a word shaped like a login (a digit,
  a dot, an underscore or an `@` among letters: `pat8537149`, `dupont.j`) is masked too: it is
  the account the password opens.
- without a cue, a word of 8 to 64 characters mixing lower case, upper case and digits, as
  generated passwords do, unless it reads as a laboratory result, a dose or an analysis
  (`HbA1c:6,8%`, `TSHus=2.5mUI/L`, `Kardegic75mg`): clinical text is never masked.

Pure functions over one value; the screening decides which values to look at (`SUSPECT`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

CREDENTIAL_REMOVED = "[credential removed]"
MAX_FILLERS = 4  # words skipped between a cue and its value
_REMOVED = re.compile(re.escape(CREDENTIAL_REMOVED))

# the words that announce a password, not one
_PASSWORD_CUES = (  # nosec B105
    r"mots? de passe|mdp|m\.d\.p\.?|pass ?words?|passwd|pwd|code d['\u2019 ]?acc[eè]s"  # noqa: S105 - cue words
    r"|codes? secrets?|codes? confidentiels?|codes? pin|pin code|codes? portail"
)
_LOGIN_CUES = (
    r"identifiants?|login|log-in|username|user ?name|user ?id|nom d['\u2019 ]utilisateur"
    r"|utilisateur|compte utilisateur"
)
# the lookahead on the cues' first letters lets the scan skip other positions quickly
_CUE = re.compile(
    rf"(?i)(?=[cilmnpu])(?<![\w])(?:(?P<password>{_PASSWORD_CUES})|(?P<login>{_LOGIN_CUES}))"
    rf"(?![\w])"
)
# what may stand between a cue and its value, and the words that carry no value
_GAP = re.compile(r"[\s:=>\-\u2013—→,;()\[\]{}\"'«»“”]*")
_WORD = re.compile(r"[^\s/,;]+")
_PAIR = re.compile(r"\s*/\s*")
_TRAILING = ".,;:!?)]}»\"'”"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# apostrophes are read as "'" (`_plain`)
FILLERS = _words(
    "est is was était sera are sont c'est le la les l' du de des d' the a an of "
    "son sa ses votre vos notre your his her their its pour for en on sur au aux "
    "portail portal web internet site en-ligne ligne online compte account patient patiente "
    "patients provisoire temporaire temporary actuel actuelle current nouveau nouvel nouvelle "
    "new ancien ancienne old initial initiale résultats resultats results serveur server "
    "labo laboratoire suivant suivante following utilisé used communiqué donné given "
    "attribué attribue : = -"
)
NO_VALUE = _words(
    "oublié oubliée oublie perdu perdue expiré expirée expire changé changée modifié modifiée "
    "réinitialisé réinitialisée reinitialise renvoyé renvoyée envoyé envoyée demandé demandée "
    "bloqué bloquée incorrect incorrecte invalide erroné erronée refusé refusée non pas aucun "
    "aucune forgotten forgot lost expired changed reset sent locked requested wrong invalid "
    "none no not"
)
# a word of 8 to 64 characters mixing lower case, upper case and digits
_TOKEN = re.compile(r"[^\s@]{8,64}")
MIXED_TOKEN = "|".join(
    r"[^\s@]*".join(order) for order in itertools.permutations(("[a-z]", "[A-Z]", r"\d"))
)
_LETTER = "A-Za-zÀ-ÖØ-öø-ÿαβγ"
_NUMBER = r"[<>≤≥~=]?\s?\d+(?:[.,]\d+)?"
_UNIT = (
    r"(?:%|‰|(?:[mµμnpk]?(?:g|mol|[lL]|UI|U|Eq)|mUI|ui|mmHg|mm|cm|sec|min|SA|G)"
    r"(?:/(?:[mµμdk]?[lL]|kg|j|h|min|24h|mm3|m2))?)"
)
# a result, a dose or an analysis, in one pattern Python's `re` and Polars' regex both read
CLINICAL = (
    rf"^(?:{_NUMBER}{_UNIT}?"  # 6,8%  12.5g/dL
    rf"|[{_LETTER}][{_LETTER}0-9_-]{{0,15}}[:=<>≤≥]{_NUMBER}{_UNIT}?"  # HbA1c:6,8%  CRP<5mg/L
    rf"|[{_LETTER}][{_LETTER}-]{{1,30}}\d+(?:[.,]\d+)?{_UNIT})$"  # Kardegic75mg
)
_CLINICAL = re.compile(CLINICAL)
_SECRET_SHAPED = re.compile(r"\d|[^\w\s'\u2019-]|[a-zà-ÿ][A-ZÀ-Þ]")
_DIGIT = re.compile(r"\d")
_LOGIN_SHAPED = re.compile(r"^(?=.*[A-Za-z])(?=.*[\d._@])[\w.@+-]{3,64}$")
# a cue, or a run mixing the three classes: the values `mask` may change, as one
# case-insensitive pattern for the cue and one case-sensitive for the run (Polars' regex)
SUSPECT_CUE = rf"(?i)(?:^|\W)(?:{_PASSWORD_CUES}|{_LOGIN_CUES})(?:\W|$)"


def clinical(token: str) -> bool:
    """A result, a dose or an analysis: `HbA1c:6,8%`, `12.5g/dL`, `Kardegic75mg`."""
    return bool(_CLINICAL.match(token.rstrip(_TRAILING)))


def _secret_shaped(word: str) -> bool:
    """A digit, a symbol or a capital after lower case: a value, not a word of the text."""
    return bool(_SECRET_SHAPED.search(word))


def _mixed(token: str) -> bool:
    """Lower case (upper-casing changes it), upper case (lower-casing does) and a digit."""
    return token.upper() != token != token.lower() and _DIGIT.search(token) is not None


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int


def _value_after(text: str, pos: int, masked: list[_Span]) -> list[_Span]:
    """The value a cue ending at `pos` introduces (and its `/` pair), or nothing (and
    nothing where the value was `masked` already)."""
    spans: list[_Span] = []
    for _ in range(MAX_FILLERS + 1):
        gap = _GAP.match(text, pos)
        between, pos = (gap.group(), gap.end()) if gap else ("", pos)
        word = _WORD.match(text, pos)
        if word is None or (masked and any(m.start <= word.end() and pos < m.end for m in masked)):
            return spans
        core = word.group().rstrip(_TRAILING)
        lowered = core.lower().replace("\u2019", "'")
        if not core or lowered in NO_VALUE or _CUE.fullmatch(core):
            return spans
        if ("," in between or ";" in between) and not _secret_shaped(core):  # "mdp, à renvoyer"
            return spans
        if lowered in FILLERS:
            pos = word.end()
            continue
        spans.append(_Span(pos, pos + len(core)))
        pair = _PAIR.match(text, pos + len(core))
        second = _WORD.match(text, pair.end()) if pair and pair.group() else None
        if second is not None and second.group().rstrip(_TRAILING):
            spans.append(
                _Span(second.start(), second.start() + len(second.group().rstrip(_TRAILING)))
            )
        return spans
    return spans


def _login_before(text: str, pos: int) -> list[_Span]:
    """A login-shaped word just before a password cue starting at `pos`."""
    head = text[:pos].rstrip(" \t,;:/-\u2013—")
    word = re.search(r"[^\s,;:/()\[\]]+$", head)
    if word is None:
        return []
    core = word.group().rstrip(_TRAILING)
    if not _LOGIN_SHAPED.match(core) or clinical(core) or _CUE.fullmatch(core):
        return []
    return [_Span(word.start(), word.start() + len(core))]


def credential_spans(text: str) -> list[tuple[int, int]]:
    """Where the credentials of `text` are, as (start, end) pairs, sorted and disjoint."""
    spans: list[_Span] = []
    masked = [_Span(m.start(), m.end()) for m in _REMOVED.finditer(text)]
    for cue in _CUE.finditer(text):
        spans += _value_after(text, cue.end(), masked)
        if cue.group("password"):
            spans += _login_before(text, cue.start())
    for token in _TOKEN.finditer(text):
        start, end, word = token.start(), token.end(), token.group()
        if any(s.start <= start and end <= s.end for s in spans):
            continue  # a cue's value already
        if _mixed(word) and not clinical(word):
            spans.append(_Span(start, end))
    merged: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span.end))
        else:
            merged.append((span.start, span.end))
    return merged


def mask(text: str) -> str:
    """`text` with each credential replaced by `CREDENTIAL_REMOVED`."""
    out, last = [], 0
    for start, end in credential_spans(text):
        out += [text[last:start], CREDENTIAL_REMOVED]
        last = end
    return "".join(out) + text[last:] if out else text
