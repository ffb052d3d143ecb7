"""Write the demo's three sets of sentences (deterministic: the same files on every run).

human.txt       600 sentences from a small grammar over five topics, as a reference
                sample of "human" text;
model_good.txt  600 more from the same grammar with another seed: a model that
                matches the reference (MAUVE near 1);
model_loop.txt  600 from a degenerate "model": two topics only, short stock
                phrases and the repetition loops of greedy decoding (MAUVE low).

    python texts.py OUT_DIR
"""
import random
import sys
from pathlib import Path

TOPICS = {
    "weather": (["the storm", "a cold front", "the morning fog", "heavy rain", "the heat wave", "a light breeze"],
                ["swept across", "settled over", "lingered above", "moved into", "cleared from", "returned to"],
                ["the northern valleys", "the harbour", "the old town", "the coastal roads", "the airport",
                 "the mountain passes"]),
    "cooking": (["my grandmother", "the young chef", "a neighbour", "the bakery owner", "my brother",
                 "the cook at the inn"],
                ["slowly simmered", "carefully folded", "roasted", "seasoned", "baked", "chopped"],
                ["the onions with thyme", "a loaf of rye bread", "fresh tomatoes from the garden",
                 "the lamb with rosemary", "a pot of lentil soup", "the pastry for the tart"]),
    "travel": (["the night train", "our small group", "a tired backpacker", "the ferry", "the old bus",
                "a couple from Lisbon"],
               ["wound its way through", "reached", "left", "crossed", "stopped briefly in", "wandered around"],
               ["the border town", "the river delta", "a quiet fishing village", "the capital before dawn",
                "the snowy highlands", "the crowded market square"]),
    "science": (["the research team", "a graduate student", "the new telescope", "the field survey",
                 "an earlier study", "the lab's sensor array"],
                ["measured", "detected", "estimated", "ruled out", "confirmed", "mapped"],
                ["a faint signal near the galactic centre", "the decay rate of the isotope",
                 "the migration route of the geese", "small changes in soil moisture",
                 "the structure of the protein", "a warming trend in the deep ocean"]),
    "sports": (["the home side", "the veteran striker", "our rowing crew", "the young goalkeeper",
                "the visiting team", "the marathon leader"],
               ["edged past", "held off", "outran", "surprised", "struggled against", "beat"],
               ["their old rivals", "the defending champions", "the field in the final mile",
                "a much stronger opponent", "the favourites", "the league leaders"]),
}
OPENERS = ["", "", "", "Yesterday, ", "Late in the afternoon, ", "According to the report, ", "Once again, ",
           "To everyone's surprise, ", "In the end, "]
CODAS = ["", "", ".", " before anyone noticed.", ", and nobody complained.", " for the first time in years.",
         ", which changed the plan for the week.", " while the others waited.", ", as expected."]


def sentence(rng, topics):
    subj, verb, obj = TOPICS[rng.choice(topics)]
    s = rng.choice(OPENERS) + rng.choice(subj) + " " + rng.choice(verb) + " " + rng.choice(obj)
    s += rng.choice(CODAS)
    s = s[0].upper() + s[1:]
    return s if s.endswith(".") else s + "."


def degenerate(rng):
    """Greedy-decoding failures: a narrow vocabulary, stock phrases, loops."""
    subj, verb, obj = TOPICS[rng.choice(["weather", "sports"])]
    base = subj[0] + " " + verb[0] + " " + obj[rng.randrange(2)]
    loop = rng.choice(["and then ", "I think that ", "it was ", "the the "])
    return (base + " " + loop * rng.randint(2, 5)).strip().capitalize() + "."


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    topics = list(TOPICS)
    sets = {
        "human.txt": [sentence(random.Random(1000 + i), topics) for i in range(600)],
        "model_good.txt": [sentence(random.Random(9000 + i), topics) for i in range(600)],
        "model_loop.txt": [degenerate(random.Random(5000 + i)) for i in range(600)],
    }
    for name, lines in sets.items():
        (out / name).write_text("\n".join(lines) + "\n")
        print(f"{out / name}: {len(lines)} sentences, {len(set(lines))} distinct")


if __name__ == "__main__":
    main()
