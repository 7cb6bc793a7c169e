"""Word classes used by the language features: tokens, fillers, pronouns, function words.

Closed lists, written out so that every count can be checked by hand:

- fillers: the filled pauses of English transcription conventions (CHAT's ``&-um``, LDC's
  ``%uh``) without the markers. Discourse markers (``like``, ``you know``) are left out: they
  are also ordinary words and cannot be told apart without syntax.
- first-person pronouns: singular ``i, me, my, mine, myself`` and plural ``we, us, our, ours,
  ourselves``, with their contractions (as LIWC's ``i`` and ``we`` categories count them;
  Pennebaker et al. 2015).
- function words: English closed classes (articles, pronouns, prepositions, conjunctions,
  auxiliary and modal verbs, quantifiers, negation and common adverbial particles); every
  other word is a content word.
"""

from __future__ import annotations

import re

#: A word: letters with inner apostrophes or hyphens (``don't``, ``well-known``); digits too.
_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")
#: Sentence-final punctuation (ends an utterance in a plain-text transcript).
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$|[\"')\]])")

FILLERS = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "uhm"})

FIRST_PERSON_SINGULAR = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})
FIRST_PERSON_PLURAL = frozenset(
    {"we", "us", "our", "ours", "ourselves", "we're", "we've", "we'd", "we'll"}
)

FUNCTION_WORDS = frozenset(
    """
    a an the this that these those
    i me my mine myself you your yours yourself yourselves he him his himself she her hers
    herself it its itself we us our ours ourselves they them their theirs themselves
    i'm i've i'd i'll you're you've you'd you'll he's he'd he'll she's she'd she'll it's
    we're we've we'd we'll they're they've they'd they'll that's there's here's what's
    who whom whose which what where when why how whoever whatever
    about above across after against along among around as at before behind below beneath
    beside between beyond by down during except for from in inside into near of off on onto
    out outside over past since through throughout till to toward towards under until up
    upon with within without
    and but or nor so yet because although though if unless while whereas than whether
    be am is are was were been being have has had having do does did doing done
    can could may might must shall should will would ought
    isn't aren't wasn't weren't haven't hasn't hadn't don't doesn't didn't can't couldn't
    won't wouldn't shouldn't mustn't mightn't
    not no never none nothing nobody nowhere neither either
    all any both each every few many more most much other others some such own same
    anybody anyone anything everybody everyone everything somebody someone something
    one ones
    there here then now just also too very only even still again ever quite rather
    really well oh yes yeah okay ok
    """.split()
)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` (curly apostrophes straightened).

    >>> tokens("I’m here -- um, I think so.")
    ["i'm", 'here', 'um', 'i', 'think', 'so']
    """
    return _TOKEN.findall(text.lower().replace("\u2019", "'").replace("\u2018", "'"))


def is_content(word: str) -> bool:
    """A content word: neither a function word, a filler nor a number."""
    return word not in FUNCTION_WORDS and word not in FILLERS and not word.isdigit()
