"""chrF++ of a reply against the gold reference reply, with sacrebleu's reference implementation.

chrF++ (Popović 2015, 2017) is the F-score (beta 2: recall weighs more) of the
character 1- to 6-grams plus the word 1- and 2-grams the two texts share:
a surface-overlap measure, 0..100. It is language-independent (no tokenizer,
no lexicon, no model weights), so it means the same in all nine languages, but
it is not a judgement of quality or meaning: a good reply worded differently
from the reference scores low, and a paraphrase in another language scores
near zero. Read it as "how close to the reference's wording", next to the
assertions and the judge.
"""

from __future__ import annotations

from sacrebleu.metrics.chrf import CHRF

WORD_ORDER = 2  # word uni- and bigrams on top of the character n-grams: chrF++


def chrf(reply: str, reference: str) -> float:
    """Sentence-level chrF++ of ``reply`` against ``reference``, 0..100 (two decimals)."""
    if not reply.strip() or not reference.strip():
        return 0.0
    # A fresh scorer per call: construction is cheap and nothing is shared between threads.
    score = CHRF(word_order=WORD_ORDER).sentence_score(reply, [reference]).score
    return round(max(0.0, min(100.0, float(score))), 2)
