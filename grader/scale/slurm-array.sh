#!/bin/sh
# slurm-array.sh: grade a course's submissions as a Slurm job array, one part of the batch per
# array task (grader/batch --shard). Submit it from the top of the svrlab checkout (every node
# must see the checkout, the submissions and OUT, a shared file system), with a contiguous range
# of task ids; then join the parts once every task has ended:
#
#   jid=$(sbatch --parsable --array=0-19 grader/scale/slurm-array.sh SUBMISSIONS OUT [options])
#   sbatch --dependency=afterok:$jid --wrap "grader/grade --merge OUT/all OUT/part-*"
#
# Task I of N (I counted from the range's first id) writes OUT/part-I/gradebook.csv and its
# reports; OUT/all/gradebook.csv is the course's gradebook. [options] go to each grading (--ch 3,
# --limit 1800, ...); -j is the task's CPUs. Tests run sandboxed only when the grader is root.
#SBATCH --job-name=svrlab-grade
#SBATCH --cpus-per-task=2
#SBATCH --time=08:00:00
#SBATCH --output=svrlab-grade-%A_%a.out
set -u
die() { echo "slurm-array.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: sbatch --array=0-N grader/scale/slurm-array.sh SUBMISSIONS OUT [options]"
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] && [ -n "${SLURM_ARRAY_TASK_COUNT:-}" ] ||
    die "not a task of a Slurm job array (submit it with sbatch --array=0-N)"
subs=$1 out=$2
shift 2
# sbatch runs a copy of this script: the checkout is where it was submitted from
top=${SLURM_SUBMIT_DIR:-.}
[ -x "$top/grader/grade" ] || die "submit it from the top of the svrlab checkout ($top is not)"
i=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
n=$SLURM_ARRAY_TASK_COUNT
exec "$top/grader/grade" --batch "$subs" --shard "$i/$n" -j "${SLURM_CPUS_PER_TASK:-1}" \
    -o "$out/part-$i/gradebook.csv" "$@"
