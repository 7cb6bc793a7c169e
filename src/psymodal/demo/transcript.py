"""Interview transcripts of the demo study, with planted language effects.

Each participant with speech answers six interviewer questions; the transcript is a
``sub-XX_task-interview_transcript.tsv`` (onset, duration, word, speaker) with the
interviewer's turns marked ``interviewer`` (the language stage drops them). Answers are made
of template sentences about everyday topics (cooking, gardening, trains...): a sentence is a
subject, a verb and an object about the current topic, optionally a place and, in the longer
sentences, a second clause.

Planted effects (patients vs controls; each subject draws its own rates, so the groups overlap):

- coherence: controls mostly stay on one topic (switch probability per sentence ~N(0.2,
  0.1)), patients jump between topics more (~N(0.45, 0.15)) -> lower semantic coherence;
- first-person singular subject ``I``/``my`` ~N(0.35, 0.12) vs ~N(0.2, 0.08) of sentences; ``we``
  ~N(0.12, 0.06) vs ~N(0.22, 0.08);
- fillers (``um``, ``uh``, ``er``) before a word: ~N(0.05, 0.025) vs ~N(0.02, 0.012);
- shorter utterances: patients' sentences have one clause (5-8 words), controls' mostly two
  (probability of a second clause ~N(0.35, 0.15) vs ~N(0.65, 0.15)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psymodal.demo.spec import SubjectParams

TASK_INTERVIEW = "interview"

TOPICS = {
    "cooking": (
        "soup kitchen onions garlic oven bread pan recipe dinner vegetables".split(),
        ["cooked", "baked", "chopped", "stirred", "tasted", "served"],
        "hot fresh spicy warm sweet".split(),
    ),
    "garden": (
        "roses soil seeds flowers tomatoes hedge lawn shovel garden weeds".split(),
        ["planted", "watered", "dug", "pruned", "picked", "grew"],
        "green muddy tall bright wild".split(),
    ),
    "trains": (
        "train station ticket platform carriage journey railway guard luggage timetable".split(),
        ["boarded", "missed", "caught", "bought", "checked", "waited for"],
        "late crowded early slow noisy".split(),
    ),
    "football": (
        "match goal team stadium referee ball coach players pitch league".split(),
        ["watched", "scored", "kicked", "won", "lost", "cheered"],
        "final exciting muddy long loud".split(),
    ),
    "seaside": (
        "beach waves sand boat harbour fish sailors tide shells sea".split(),
        ["sailed", "fished", "swam in", "walked along", "collected", "photographed"],
        "calm salty sunny windy blue".split(),
    ),
    "music": (
        "guitar piano song concert band melody singer drums choir violin".split(),
        ["played", "sang", "heard", "practised", "tuned", "recorded"],
        "quiet beautiful old loud new".split(),
    ),
    "hospital": (
        "doctor nurse hospital medicine clinic appointment pills ward bandage prescription".split(),
        ["visited", "called", "collected", "needed", "booked", "asked for"],
        "busy clean small quiet early".split(),
    ),
    "school": (
        "teacher classroom homework lesson pupils exam books desk blackboard school".split(),
        ["read", "marked", "prepared", "finished", "studied", "cleaned"],
        "difficult short boring new long".split(),
    ),
}
QUESTIONS = [
    "can you tell me about your last weekend",
    "what do you like to do in your free time",
    "tell me about a place you visited recently",
    "what did you do yesterday",
    "tell me about someone you know well",
    "what are your plans for next week",
]
PREPOSITIONS = ["in", "near", "at", "behind", "with"]
CONNECTORS = ["and then", "because", "so", "while", "and"]
OTHERS = ["they", "he", "she", "the family", "my brother"]
FILLER_WORDS = ["um", "uh", "er"]


def language_parameters(params: SubjectParams, rng: np.random.Generator) -> dict:
    """Draw one subject's generating language rates (documented in the module notes)."""
    patient = params.patient

    def draw(patient_mean, patient_sd, control_mean, control_sd):
        mean, sd = (patient_mean, patient_sd) if patient else (control_mean, control_sd)
        return float(np.clip(rng.normal(mean, sd), 0.0, 1.0))

    return {
        "topic_switch_p": draw(0.45, 0.15, 0.2, 0.1),
        "first_person_singular_p": draw(0.35, 0.12, 0.2, 0.08),
        "first_person_plural_p": draw(0.12, 0.06, 0.22, 0.08),
        "filler_p": draw(0.05, 0.025, 0.02, 0.012),
        "second_clause_p": draw(0.35, 0.15, 0.65, 0.15),
    }


def _clause(rng, topic: str, rates: dict, with_place: bool) -> list[str]:
    nouns, verbs, adjectives = TOPICS[topic]
    draw = rng.random()
    if draw < rates["first_person_singular_p"]:
        subject = "i" if rng.random() < 0.8 else "my friend"
    elif draw < rates["first_person_singular_p"] + rates["first_person_plural_p"]:
        subject = "we"
    else:
        subject = OTHERS[int(rng.integers(len(OTHERS)))]
    words = subject.split() + verbs[int(rng.integers(len(verbs)))].split()
    words += ["the", adjectives[int(rng.integers(len(adjectives)))]]
    words.append(nouns[int(rng.integers(len(nouns)))])
    if with_place:
        words += [PREPOSITIONS[int(rng.integers(len(PREPOSITIONS)))], "the"]
        words.append(nouns[int(rng.integers(len(nouns)))])
    return words


def _sentence(rng, topic: str, rates: dict) -> list[str]:
    words = _clause(rng, topic, rates, with_place=rng.random() < 0.5)
    if rng.random() < rates["second_clause_p"]:
        words += CONNECTORS[int(rng.integers(len(CONNECTORS)))].split()
        words += _clause(rng, topic, rates, with_place=True)
    return words


def _duration(word: str, rng) -> float:
    return round(0.12 + 0.045 * len(word) + float(rng.uniform(0.0, 0.05)), 3)


def interview(params: SubjectParams, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """One subject's interview transcript and its generating parameters.

    Returns
    -------
    table : pandas.DataFrame
        ``onset, duration, word, speaker`` (``interviewer`` or ``participant``), sorted by onset.
    truth : dict
        The drawn rates (:func:`language_parameters`) and realised counts.
    """
    rates = language_parameters(params, rng)
    topics = sorted(TOPICS)
    rows, t = [], 0.5
    n_sentences = n_words = n_fillers = n_fps = 0
    for question in QUESTIONS:
        for word in question.split():
            duration = _duration(word, rng)
            rows.append((round(t, 3), duration, word, "interviewer"))
            t += duration + float(rng.uniform(0.04, 0.12))
        t += float(rng.uniform(0.8, 1.5))
        topic = topics[int(rng.integers(len(topics)))]
        for _ in range(int(rng.integers(4, 7))):
            if rng.random() < rates["topic_switch_p"]:
                topic = topics[int(rng.integers(len(topics)))]
            sentence = _sentence(rng, topic, rates)
            n_sentences += 1
            for word in sentence:
                if rng.random() < rates["filler_p"]:
                    filler = FILLER_WORDS[int(rng.integers(len(FILLER_WORDS)))]
                    duration = round(float(rng.uniform(0.25, 0.45)), 3)
                    rows.append((round(t, 3), duration, filler, "participant"))
                    t += duration + float(rng.uniform(0.05, 0.15))
                    n_fillers += 1
                duration = _duration(word, rng)
                rows.append((round(t, 3), duration, word, "participant"))
                t += duration + float(rng.uniform(0.04, 0.15))
                n_words += 1
                n_fps += word in ("i", "my")
            t += float(rng.uniform(0.6, 1.4))  # a pause between sentences ends an utterance
        t += float(rng.uniform(0.5, 1.0))
    table = pd.DataFrame(rows, columns=["onset", "duration", "word", "speaker"])
    truth = {
        **rates,
        "n_sentences": n_sentences,
        "n_words": n_words,
        "n_fillers": n_fillers,
        "mean_sentence_words": n_words / n_sentences,
        "first_person_singular_rate": n_fps / n_words,
        "filler_rate": n_fillers / (n_words + n_fillers),
    }
    return table, truth
