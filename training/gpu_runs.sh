#!/usr/bin/env bash
# The shipped encoder's recipe trained from scratch on a GPU (issue 8, item 5): the same train.py,
# on CUDA. Three runs side by side, each its own process on the one GPU:
#   final/mem-skip-w60-7k-shift2-margin3-trainval seeds 1 and 2  -- the two networks of models/omniglot-conv4-memory
#   long/mem-skip-w60-7k seed 1                   -- train-only twin: validation on held-out alphabets,
#                                                    to compare with the CPU run of the same recipe
# The wall-clock time of the two trainval runs together is the "full training from scratch" figure.
#
#   OMNIGLOT_DIR=/path/to/omniglot bash training/gpu_runs.sh OUTDIR [DEADLINE_S]
#
# Runs go to training/runs/gpu/<name>/ (checkpoint every 500 steps, so a run stopped by the deadline
# can be finished anywhere with train.py --resume); OUTDIR gets <run>.tgz (logs, summary, final.pt, or
# ckpt.pt if unfinished) and gpu.txt (the device). PYTHON picks the interpreter; EXTRA_ARGS go to every run (a smoke test:
# EXTRA_ARGS="--memory_steps=4 --eval_every=4 --eval_episodes=20" PYTHON=/usr/bin/python3 bash training/gpu_runs.sh /tmp/g).
set -u
out=${1:?usage: gpu_runs.sh OUTDIR [DEADLINE_S]}
deadline=${2:-480}
cd "$(dirname "$0")/.."
mkdir -p "$out" training/runs/gpu
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; "${PYTHON:-python3}" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"; } > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
# the recipes are training/ablation.py's (final/mem-skip-w60-7k-shift2-margin3-trainval, long/mem-skip-w60-7k-shift2-margin3); here only
# validation at the end (each one costs CPU time beside the GPU) and a checkpoint every 500 steps
TRAIN_ARGS="--eval_every=7000 --ckpt_every=500 ${EXTRA_ARGS:-}"
run() {  # group, run, seed, folder name
  mkdir -p "training/runs/gpu/$4"
  PYTHONUNBUFFERED=1 timeout "$deadline" "${PYTHON:-python3}" training/ablation.py "$1" "--only=$2" "--seed=$3" --threads=2 \
    --runs_dir=training/runs/gpu "--train_args=$TRAIN_ARGS" > "training/runs/gpu/$4/stdout.txt" 2>&1 &
}
# RUNS: the runs, each group:run:seed (default: the shipped pair and its train-only twin). A screening
# session trains candidates' train-only runs instead, e.g.
#   RUNS="long:mem-skip-w60-7k-aug175:1 long:mem-skip-w60-7k-aug175:2" bash training/gpu_runs.sh OUTDIR
# then compares them with the recipe's twins by training/paired_val.py (on CPU, anywhere).
RUNS=${RUNS:-"final:mem-skip-w60-7k-shift2-margin3-trainval:1 final:mem-skip-w60-7k-shift2-margin3-trainval:2 long:mem-skip-w60-7k-shift2-margin3:1"}
for spec in $RUNS; do  # every entry checked before any run starts
  IFS=: read -r group name seed <<< "$spec"
  if [ -z "$group" ] || [ -z "$name" ] || ! [[ "$seed" =~ ^[0-9]+$ ]]; then echo "RUNS: bad entry '$spec' (want group:run:seed)" >&2; exit 2; fi
done
t0=$(date +%s)
for spec in $RUNS; do
  IFS=: read -r group name seed <<< "$spec"
  if [ "$seed" = 1 ]; then folder=$name; else folder=$name-seed$seed; fi
  run "$group" "$name" "$seed" "$folder"
done
( while sleep 30; do echo "$(( $(date +%s) - t0 )) s:"; for f in training/runs/gpu/*/stdout.txt; do echo "  $f: $(tail -c 300 "$f" | tr '\r' '\n' | grep -a . | tail -1)"; done; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; done ) &
watcher=$!
wait $(jobs -p | grep -v "^$watcher$") 2>/dev/null
kill $watcher 2>/dev/null
echo "all runs ended after $(( $(date +%s) - t0 )) s" | tee -a "$out/gpu.txt"
for f in training/runs/gpu/*/log.txt; do echo "== $f"; tail -3 "$f"; done
for d in training/runs/gpu/*/; do  # one archive per run (the tool brings back files of <= 16 MB); ckpt.pt only if unfinished
  n=$(basename "$d"); if [ -f "$d/final.pt" ]; then x=(--exclude=ckpt.pt); else x=(); fi
  tar czf "$out/$n.tgz" "${x[@]}" "$d"
done
ls -la "$out"
