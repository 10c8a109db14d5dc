#!/usr/bin/env bash
# completion.sh - the bash completion (contrib/completion/jobrt.bash)
# completes what --help lists: command names (not the hidden __probe),
# each command's options, dlq's subcommands, directories for a DIR and
# files for a FILE (as --opt VALUE and --opt=VALUE), command names after
# `jobrt help`; and it reads them from the binary it completes, so a
# binary with another --help gets other words.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
SCRIPT="$JOBRT_SOURCE_DIR/contrib/completion/jobrt.bash"
e2e_require "$SCRIPT" "the completion script"
# shellcheck source=../../contrib/completion/jobrt.bash
. "$SCRIPT"
J=$JOBRT_BIN

# complete WORD...: COMPREPLY, sorted, one line, for the command line
# WORD... with the cursor at the end of the last word (bash's own split:
# "--opt=value" is three words, "--opt" "=" "value").
complete_words()
{
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _jobrt || true
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' '
}

# expect WANT WORD...: the completion of WORD... is WANT (sorted words).
expect()
{
    local want=$1
    shift
    local got
    got=$(complete_words "$@")
    assert_eq "$(tr ' ' '\n' <<<"$want" | sed '/^$/d' | sort | tr '\n' ' ')" "$got" \
        "completion of '${*:2}'"
}

# ---- commands and options ---------------------------------------------------

expect "run" "$J" ru
expect "--plugin-dir" "$J" run --plug
expect "list show retry purge" "$J" dlq ""
expect "add list remove pause resume" "$J" schedule ""
expect "--cron" "$J" schedule add --cr
expect "on off status tail" "$J" events ""
expect "--follow" "$J" events tail --fol
expect "reload resume rollout run" "$J" r
expect "" "$J" __pr
expect "--reason" "$J" dlq list --rea
expect "" "$J" dlq list "" # a subcommand is given: no second one

# every command of `jobrt --help`, and each one's options as its help
# lists them (long names; -h/--help too)
cmds=$(awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit }
    on { print $1 }' < <("$J" --help) | tr '\n' ' ')
expect "$cmds" "$J" ""
expect "$cmds" "$J" help ""
for c in $cmds; do
    longs=$("$J" "$c" --help | sed -n '/^Options:$/,$p' |
        grep -oE '^  (-., |    )--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' |
        tr '\n' ' ' || true)
    expect "$longs" "$J" "$c" --
done
expect "--payload --plugin-dir --probe-timeout" "$J" exec --p
expect "-p" "$J" plugins -p

# ---- DIR and FILE values -----------------------------------------------------

D=$E2E_WORK/c
mkdir -p "$D/plugins-a" "$D/plugins-b"
: >"$D/plugins.txt"
expect "$D/plugins-a $D/plugins-b" "$J" run --plugin-dir "$D/plu"
expect "$D/plugins-a $D/plugins-b" "$J" run -p "$D/plu"
expect "$D/plugins-a $D/plugins-b" "$J" run --plugin-dir = "$D/plu"
expect "$D/plugins-a $D/plugins-b" "$J" plugins "$D/plu" # positional DIR
expect "$D/plugins-a $D/plugins-b $D/plugins.txt" \
    "$J" run --redis-password-file "$D/plu"
expect "$D/plugins-a $D/plugins-b $D/plugins.txt" \
    "$J" run --health-file "$D/plu" # PATH
expect "" "$J" run --queue "$D/plu" # NAME: nothing to offer
expect "" "$J" run "" # run takes no argument: its DIR is --plugin-dir's
# values are skipped when looking for options: -q's value is not an option
expect "--queue" "$J" run -q x --que
# an option as the first argument means `jobrt run` (main.c)
expect "--watch" "$J" --wat

# ---- words come from the binary being completed ------------------------------

FAKE=$E2E_WORK/fake-jobrt
cat >"$FAKE" <<'EOF'
#!/bin/sh
case "$1" in
    --help) printf 'Usage: jobrt [command] [options]\n\nA test.\n\nCommands:\n  frob       frobnicate\n  run        run\n\nEnd.\n' ;;
    frob) printf 'Usage: jobrt frob on|off [options]\n\nFrobs.\n\nOptions:\n      --knob-dir DIR             A dir.\n  -h, --help                     Show this help and exit.\n' ;;
    *) exit 2 ;;
esac
EOF
chmod 755 "$FAKE"
expect "frob" "$FAKE" f
expect "off on" "$FAKE" frob ""
expect "--help --knob-dir" "$FAKE" frob --
expect "$D/plugins-a $D/plugins-b" "$FAKE" frob --knob-dir "$D/plu"
# and the real binary's words are still its own (a cache per binary)
expect "run" "$J" ru
pass
