# Grader self-test: a grader run killed with SIGKILL leaves its IPC key slot's marker and its
# tests' objects behind; the next run removes them, and only them: not those of a run that is
# still alive, nor those of a dead run whose orphaned tests still have a segment attached.
# (The slots: IPC_FIRST_KEY + n * IPC_SLOT in grader/driver/grade.c; ipcleft.c makes the objects.)

# ipc_key_used KEY: some System V object has that key
ipc_key_used() {
    awk -v k="$1" 'NR > 1 && $1 == k { found = 1 } END { exit !found }' \
        /proc/sysvipc/shm /proc/sysvipc/sem
}

t_ipc_reclaim() {
    cc -O2 -Wall -Werror -o "$tmp/ipcleft" grader/selftest/ipcleft.c || return 1
    # three slots far from where a grader usually lands (it starts at a random one)
    n=$((4000 + $$ % 3000))
    dead=$((0x10000000 + n * 262144)) live=$((dead + 262144)) orphan=$((dead + 2 * 262144))
    for k in $dead $live $orphan; do
        ! ipc_key_used "$k" || { echo "slot at key $k is taken: run again"; return 1; }
    done
    "$tmp/ipcleft" dead "$dead" >/dev/null || return 1
    "$tmp/ipcleft" orphan "$orphan" >"$tmp/ipc-orphan"
    "$tmp/ipcleft" live "$live" >"$tmp/ipc-live" &
    for _ in $(seq 50); do
        grep -q ready "$tmp/ipc-live" && break
        sleep 0.1
    done
    orphan_pid=$(sed -n 's/^ready //p' "$tmp/ipc-orphan")
    result=0
    if grep -q ready "$tmp/ipc-live" && [ -n "$orphan_pid" ]; then
        # any run of the grader reclaims first (this one stops at once: no test has that
        # name). It says what it removed, unless a grader of the other lane came first.
        grader/grade --test no-such-test-at-all >"$tmp/ipc-grade" 2>&1
        cat "$tmp/ipc-grade"
        for k in $dead $((dead + 5)) $((dead + 6)); do
            ! ipc_key_used "$k" || { echo "key $k of the dead run is still there"; result=1; }
        done
        for k in $live $((live + 5)) $((live + 6)) $orphan $((orphan + 5)) $((orphan + 6)); do
            ipc_key_used "$k" || { echo "key $k was removed, but its run or test is alive"; result=1; }
        done
    else
        echo "ipcleft did not get ready"
        result=1
    fi
    # the helpers still waiting, then what the grader rightly left
    kill "$!" ${orphan_pid:+"$orphan_pid"}
    wait "$!" 2>/dev/null
    for k in $dead $live $orphan; do
        ipcrm -M "$k" -M $((k + 5)) -S $((k + 6)) 2>/dev/null
    done
    return $result
}
check "grader: the IPC objects of a killed grader run are removed by the next run, and only those" t_ipc_reclaim
