#!/usr/bin/env python3
"""Writes a deterministic benchmark corpus of JSON Lines to stdout.

    Scripts/gen-corpus.py N [--seed S] > corpus.jsonl

Each line is {"id": i, "text": "..."} with i counting from 0. A text is
50-300 characters of English-like prose: sentences with capitals and
punctuation, words drawn from a fixed list with Zipf-like frequencies, now
and then a non-ASCII word (cafe with an accent, Strasse with an eszett, a
CJK word) or a quoted word. About 10% of the records repeat, exactly, the
text of an earlier record, as real corpora do.

The same N and seed give the same bytes on every run and every machine:
everything random comes from one random.Random(seed), and records are made
in order, so the first k lines of a longer corpus are the corpus of k.
Standard library only.
"""

import argparse
import json
import os
import random
import sys

# Most frequent first; the weight of rank r is 1 / (r + ZIPF_SHIFT), a
# Zipf-Mandelbrot law, so "the" is about 5% of the words, as in English.
WORDS = """
the of and to a in is it you that he was for on are with as I his they be at
one have this from or had by not word but what some we can out other were all
there when up use your how said an each she which do their time if will way
about many then them write would like so these her long make thing see him two
has look more day could go come did number sound no most people my over know
water than call first who may down side been now find any new work part take
get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say help
low line differ turn cause much mean before move right boy old too same tell
does set three want air well also play small end put home read hand port large
spell add even land here must big high such follow act why ask men change went
light kind off need house picture try us again animal point mother world near
build self earth father head stand own page should country found answer school
grow study still learn plant cover food sun four between state keep eye never
last let thought city tree cross farm hard start might story saw far sea draw
left late run don't while press close night real life few north open seem
together next white children begin got walk example ease paper group always
music those both mark often letter until mile river car feet care second book
carry took science eat room friend began idea fish mountain stop once base hear
horse cut sure watch color face wood main enough plain girl usual young ready
above ever red list though feel talk bird soon body dog family direct pose
leave song measure door product black short numeral class wind question happen
complete ship area half rock order fire south problem piece told knew pass
since top whole king space heard best hour better true during hundred five
remember step early hold west ground interest reach fast verb sing listen six
table travel less morning ten simple several vowel toward war lay against
pattern slow center love person money serve appear road map rain rule govern
pull cold notice voice unit power town fine certain fly fall lead cry dark
machine note wait plan figure star box noun field rest correct able pound done
beauty drive stood contain front teach week final gave green quick develop
ocean warm free minute strong special mind behind clear tail produce fact
street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold
possible plane instead dry wonder laugh thousand ago ran check game shape
equate hot miss brought heat snow tire bring yes distant fill east paint
language among it's embedding vector cache model query index retrieval
""".split()

# Rare words beyond ASCII: two-byte Latin letters, one three-byte CJK word
# and one four-byte emoji, so every UTF-8 length shows up.
FOREIGN = [
    "café", "naïve", "Straße", "résumé", "façade", "jalapeño", "über",
    "Zürich", "São", "fiancée", "déjà", "Ångström", "smörgåsbord", "piñata",
    "crème", "brûlée", "Ærø", "coöperate", "Dvořák", "Łódź", "東京", "🙂",
]

ZIPF_SHIFT = 2.7
FOREIGN_RATE = 0.005      # per word
QUOTE_RATE = 0.003        # per word: "word" in double quotes
DUPLICATE_RATE = 0.10     # per record, from the second record on
MIN_CHARS, MAX_CHARS = 50, 300
MODE_CHARS = 80           # most texts are short, a few run long


def cumulative_weights():
    total = 0.0
    cumulative = []
    for rank in range(1, len(WORDS) + 1):
        total += 1.0 / (rank + ZIPF_SHIFT)
        cumulative.append(total)
    return cumulative


class TextMaker:
    def __init__(self, rng):
        self.rng = rng
        self.cumulative = cumulative_weights()
        self.pool = []

    def word(self):
        rng = self.rng
        if not self.pool:
            self.pool = rng.choices(WORDS, cum_weights=self.cumulative, k=256)
        word = self.pool.pop()
        roll = rng.random()
        if roll < FOREIGN_RATE:
            word = rng.choice(FOREIGN)
        elif roll < FOREIGN_RATE + QUOTE_RATE:
            word = '"' + word + '"'
        return word

    def text(self):
        """Sentences until the target length, never over MAX_CHARS."""
        rng = self.rng
        target = int(rng.triangular(MIN_CHARS, MAX_CHARS, MODE_CHARS))
        parts = []
        length = 0
        while True:
            sentence = self.sentence()
            added = len(sentence) + (1 if parts else 0)
            if length + added > MAX_CHARS:
                if length >= MIN_CHARS:
                    break
                # Still short: cut this sentence to fit.
                sentence = self.trim(sentence, MAX_CHARS - length - (1 if parts else 0))
                added = len(sentence) + (1 if parts else 0)
            parts.append(sentence)
            length += added
            if length >= target:
                break
        return " ".join(parts)

    def sentence(self):
        rng = self.rng
        count = rng.randint(4, 18)
        words = [self.word() for _ in range(count)]
        first = words[0]
        words[0] = first[:1].upper() + first[1:]
        out = []
        for index, word in enumerate(words):
            out.append(word)
            if index + 1 < count and index >= 2 and rng.random() < 0.07:
                out[-1] += rng.choice([",", ",", ",", ";", ":"])
        return " ".join(out) + rng.choice([".", ".", ".", ".", ".", "!", "?"])

    @staticmethod
    def trim(sentence, room):
        """The sentence cut at a word boundary to at most room characters."""
        end = sentence[-1]
        words = sentence[:-1].split(" ")
        while len(words) > 1 and len(" ".join(words)) + 1 > room:
            words.pop()
        return (" ".join(words) + end)[:room]


def main():
    parser = argparse.ArgumentParser(description="Deterministic JSONL benchmark corpus.")
    parser.add_argument("count", type=int, metavar="N", help="number of records")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args()
    if args.count < 0:
        parser.error("N must not be negative")

    rng = random.Random(args.seed)
    maker = TextMaker(rng)
    texts = []
    out = sys.stdout.buffer
    lines = []
    for index in range(args.count):
        if texts and rng.random() < DUPLICATE_RATE:
            text = texts[rng.randrange(len(texts))]
        else:
            text = maker.text()
            texts.append(text)
        assert MIN_CHARS <= len(text) <= MAX_CHARS, text
        lines.append(json.dumps({"id": index, "text": text}, ensure_ascii=False))
        if len(lines) == 4096:
            out.write(("\n".join(lines) + "\n").encode("utf-8"))
            lines.clear()
    if lines:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
    out.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        # The reader went away (| head): quiet, like cat.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
