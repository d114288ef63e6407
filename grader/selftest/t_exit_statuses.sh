# Project self-test: grader/tests/exit-statuses lists every exit status that a program's --help
# documents, 0 and 2 (bad arguments) for every program of grader/chapters/chapterN.mk, and
# only tests that the chapter's runner has. Text checks only (--help outputs, runner --list):
# whether each test fails when the program exits otherwise is the tests' own business.

# help_statuses: the exit statuses named in a --help text on stdin, one a line. A mention
# starts at "exit status" (maybe across a line break), "exits" or "exit:" and runs to the end
# of its sentence (". "), or of its option (a next line that starts an option, "  -"); its
# whole numbers up to 255 are the statuses ("0.01" is not one, "status 1001" of a WebSocket
# is not after such a start).
help_statuses() {
    awk '{ text = text $0 "\n" }
        END {
            while (match(text, /[Ee]xit[ \n]+status|exits|exit:/)) {
                text = substr(text, RSTART + RLENGTH)
                frag = text
                n = split(". |.\n|\n  -", ends, "|")
                for (i = 1; i <= n; i++)
                    if ((at = index(frag, ends[i])) > 0)
                        frag = substr(frag, 1, at - 1)
                gsub(/[^0-9.]+/, " ", frag)
                k = split(frag, words, " ")
                for (i = 1; i <= k; i++)
                    if (words[i] ~ /^[0-9]+$/ && words[i] + 0 <= 255)
                        print words[i] + 0
            }
        }' | sort -un
}

# mk_progs MK: the programs a chapter's .mk file builds ("progs :=" and "progs +=" lines).
mk_progs() {
    sed -n 's/^progs *[+:]\{0,1\}= *//p' "$1" | tr ' ' '\n' | sed '/^$/d' | sort -u
}

# exit_statuses_inputs: what the checks compare a table with, once, into $tmp: per chapter N
# the runner's tests (es-tests-N), the programs (es-progs-N), and the statuses each program
# must have a line for (es-need: "N PROG STATUS" lines: 0, 2 and those its --help names).
exit_statuses_inputs() {
    es_problems=0
    : >"$tmp/es-need"
    for es_mk in grader/chapters/chapter*.mk; do
        es_n=${es_mk##*chapter}
        es_n=${es_n%.mk}
        es_bin=build/solutions/chapter$es_n
        "$es_bin/runner" --list | awk '{ print $1 }' >"$tmp/es-tests-$es_n" || return 1
        es_progs=$(mk_progs "$es_mk")
        printf '%s\n' "$es_progs" >"$tmp/es-progs-$es_n"
        for es_p in $es_progs; do
            if [ ! -x "$es_bin/$es_p" ]; then
                echo "chapter $es_n: $es_p (in $es_mk) is not built: $es_bin/$es_p"
                es_problems=1
                continue
            fi
            es_statuses=$("$es_bin/$es_p" --help | help_statuses)
            printf '0\n2\n%s\n' "$es_statuses" | sort -un |
                sed "/^$/d; s/^/$es_n $es_p /" >>"$tmp/es-need"
        done
    done
    return $es_problems
}

# exit_statuses_check TABLE: TABLE against exit_statuses_inputs' files, in one awk (a process
# per line would take seconds on a busy machine); says every problem, fails if any.
exit_statuses_check() {
    awk -v table="$1" -v dir="$tmp" '
        function load(file, set, n,   line) {
            while ((getline line <file) > 0)
                set[n " " line] = 1
            close(file)
        }
        BEGIN {
            for (n = 1; n <= 9; n++) {
                load(dir "/es-tests-" n, tests, n)
                load(dir "/es-progs-" n, progs, n)
            }
            load(dir "/es-need", need, "")
        }
        !/^#/ && NF > 0 {
            have[" " $1 " " $2 " " $3] = 1
            where = table ": \"" $1 " " $2 " " $3 "\""
            if (!(($1 " " $2) in progs)) {
                print where ": no program " $2 " in chapter" $1 ".mk"
                bad = 1
            }
            if ($3 !~ /^[0-9]+$/) {
                print where ": the status is not a number"
                bad = 1
            }
            if (NF < 4) {
                print where ": no test named"
                bad = 1
            }
            k = split($4, named, ",")
            for (i = 1; i <= k; i++)
                if (!(($1 " " named[i]) in tests)) {
                    print where ": no test " named[i] " in chapter " $1 "\047s runner"
                    bad = 1
                }
        }
        END {
            for (x in need)
                if (!(x in have)) {
                    split(x, f, " ")
                    print "chapter " f[1] ": " f[2] ": no line for exit status " f[3] " in " table
                    bad = 1
                }
            exit bad
        }' "$1"
}

t_exit_statuses() {
    exit_statuses_inputs && exit_statuses_check grader/tests/exit-statuses || return 1
    # The check can fail: each broken copy of the table must be refused.
    es_real=grader/tests/exit-statuses
    awk '!($1 == 4 && $2 == "viewstat" && $3 == 1)' "$es_real" >"$tmp/es-no-help-status"
    awk '!($1 == 1 && $2 == "echosvr_v0" && $3 == 2)' "$es_real" >"$tmp/es-no-status-2"
    sed 's/viewconn_once_no_md_exit_1/viewconn_once_no_md_exit_9/' "$es_real" >"$tmp/es-no-such-test"
    sed 's/^5  cachebench /5  cachebench2 /' "$es_real" >"$tmp/es-no-such-prog"
    for es_broken in no-help-status no-status-2 no-such-test no-such-prog; do
        echo "--- on a broken copy ($es_broken), which must fail:"
        if exit_statuses_check "$tmp/es-$es_broken"; then
            echo "the check passed on a table with $es_broken"
            return 1
        fi
    done
}
check "tests: every documented exit status is in grader/tests/exit-statuses, and tested" \
    t_exit_statuses
