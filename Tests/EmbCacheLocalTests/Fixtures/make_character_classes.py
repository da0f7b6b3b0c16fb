# Generated once with Hugging Face `tokenizers` 0.23.3 (pip); not run by
# the tests. Writes, for every Unicode scalar, how BertNormalizer (clean-up
# and CJK splitting on, accents and case left alone) and BertPreTokenizer
# treat it between two letters, as runs "FIRST LAST CLASS" in hex:
#   D dropped by clean-up        W whitespace (a word break)
#   C set apart as a CJK ideograph  P punctuation (a word of its own)
#   K kept inside the word
# Usage: python make_character_classes.py > bert-character-classes.txt
from tokenizers import normalizers, pre_tokenizers

normalizer = normalizers.BertNormalizer(
    clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
pre_tokenizer = pre_tokenizers.BertPreTokenizer()


def character_class(scalar):
    c = chr(scalar)
    normalized = normalizer.normalize_str("a" + c + "a")
    if normalized == "aa":
        return "D"
    if normalized == "a a":
        return "W"
    if normalized == "a " + c + " a":
        return "C"
    words = [word for word, _ in pre_tokenizer.pre_tokenize_str(normalized)]
    if words == ["a", c, "a"]:
        return "P"
    if words == ["a" + c + "a"]:
        return "K"
    raise SystemExit(f"U+{scalar:04X}: unexpected {words!r}")


runs = []
for scalar in range(0x110000):
    if 0xD800 <= scalar <= 0xDFFF:
        continue
    kind = character_class(scalar)
    if runs and runs[-1][2] == kind and runs[-1][1] == scalar - 1:
        runs[-1][1] = scalar
    else:
        runs.append([scalar, scalar, kind])
for first, last, kind in runs:
    print(f"{first:X} {last:X} {kind}")
