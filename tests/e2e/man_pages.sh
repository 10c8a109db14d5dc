#!/usr/bin/env bash
# man_pages.sh - the built man pages say what --help says: jobrt.1 and one
# jobrt-CMD.1 per command that `jobrt --help` lists (no page missing, none
# extra, none for the hidden __probe), each rendering, once its section
# headings are put back as the help's "Usage:", "Exit codes:", "Options:"
# and "Commands:", to the very words of the binary's --help in the same
# order; NAME carries the command's summary from `jobrt --help`,
# ENVIRONMENT the variables the options name, SEE ALSO the other pages;
# groff and man print no warning for any page (lintian's
# manpage-has-errors-from-man check). A page built from an older --help
# fails here: the comparison is shown to reject an altered page and an
# altered help each run.
#
# The pages are the build's man/ directory beside the binary (cmake
# target jobrt_man, part of the default build), or JOBRT_MAN_DIR.
. "$(dirname "$0")/lib.sh"

e2e_setup --no-redis
MAN_DIR=${JOBRT_MAN_DIR:-$(dirname "$JOBRT_BIN")/man}
e2e_require "$MAN_DIR/jobrt.1" "build the default target (jobrt_man)"
for tool in groff man; do
    if ! command -v "$tool" >/dev/null; then
        log "SKIP: $tool is not installed (Debian packages groff-base, man-db)"
        exit 77
    fi
done
J=$JOBRT_BIN
W=$E2E_WORK

# render PAGE: the page as plain text, each paragraph on one line (a line
# length no paragraph reaches, so no word is broken at a hyphen), and
# U+2010 hyphens and U+2212 minus signs as "-" (which one a "-" or "\-"
# becomes depends on the groff version; Debian 12's prints "-" for both).
render()
{
    groff -man -Tutf8 -P-cbou -rLL=20000n "$1" |
        sed -e 's/\xe2\x80\x90/-/g' -e 's/\xe2\x88\x92/-/g'
}

# section TEXT NAME: the body of section NAME of rendered TEXT (headings
# are at column 0, and so are the page's header and footer lines).
section()
{
    printf '%s\n' "$1" | awk -v want="$2" '
        /^[^ \t]/ { cur = $0; next }
        cur == want { print }'
}

words() { tr -s '[:space:]' '\n' | sed '/^$/d'; }

# page_words PAGE: the words of the page's text, as its --help has them.
page_words()
{
    local text
    text=$(render "$1")
    {
        echo "Usage:"
        section "$text" SYNOPSIS
        section "$text" DESCRIPTION
        if [ -n "$(section "$text" COMMANDS)" ]; then
            echo "Commands:"
            section "$text" COMMANDS
        fi
        if [ -n "$(section "$text" "EXIT STATUS")" ]; then
            echo "Exit codes:"
            section "$text" "EXIT STATUS"
        fi
        if [ -n "$(section "$text" OPTIONS)" ]; then
            echo "Options:"
            section "$text" OPTIONS
        fi
    } | words
}

# same_words PAGE HELP_FILE WHAT: 0 if the page has HELP_FILE's words; else
# prints the word diff and returns 1.
same_words()
{
    page_words "$1" >"$W/page.words"
    words <"$2" >"$W/help.words"
    if ! diff -u "$W/help.words" "$W/page.words" >"$W/words.diff"; then
        log "$3: the page's words differ from --help (- help, + page):"
        head -40 "$W/words.diff" >&2
        return 1
    fi
}

# ---- which pages --------------------------------------------------------

"$J" --help >"$W/jobrt.help"
mapfile -t CMDS < <(awk '/^Commands:$/ { on = 1; next }
    on && /^$/ { exit }
    on { print $1 }' "$W/jobrt.help")
assert_ge 10 "${#CMDS[@]}" "commands in jobrt --help"
want="jobrt.1"
for c in "${CMDS[@]}"; do want="$want jobrt-$c.1"; done
have=$(for p in "$MAN_DIR"/*.1; do basename "$p"; done | sort | tr '\n' ' ')
assert_eq "$(tr ' ' '\n' <<<"$want" | sed '/^$/d' | sort | tr '\n' ' ')" \
    "$have" "the pages in $MAN_DIR (one per command of jobrt --help)"
assert_not_contains "$have" "__probe" "pages"

# ---- each page ----------------------------------------------------------

for c in "" "${CMDS[@]}"; do
    name=jobrt${c:+-$c}
    page="$MAN_DIR/$name.1"
    [ -z "$c" ] || "$J" "$c" --help >"$W/$name.help"

    run_cmd groff -man -Tutf8 -ww -z "$page"
    assert_eq "" "$OUT$ERR" "groff warnings for $name.1"
    run_cmd env LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
        man --warnings -E UTF-8 -l -Tutf8 -Z "$page"
    assert_eq "" "$ERR" "man --warnings for $name.1"
    assert_eq 0 "$RC" "man -l $name.1 exit code"

    same_words "$page" "$W/$name.help" "$name.1" ||
        fail "$name.1 is stale or wrong: rebuild (cmake --build), or fix cmake/help2roff.awk"

    text=$(render "$page")
    got=$(section "$text" NAME | words | tr '\n' ' ')
    if [ -n "$c" ]; then
        summary=$(awk -v c="$c" '/^Commands:$/ { on = 1; next }
            on && $1 == c { sub(/^ *[^ ]+ +/, ""); print; exit }' \
            "$W/jobrt.help")
    else
        summary=$(sed -n '3{s/[:.].*//;p}' "$W/jobrt.help")
        summary="$(tr '[:upper:]' '[:lower:]' <<<"${summary:0:1}")${summary:1}"
    fi
    assert_eq "$(words <<<"$name - $summary" | tr '\n' ' ')" "$got" \
        "NAME of $name.1"

    env_help=$(grep -o '\[env JOBRT_[A-Z0-9_]*' "$W/$name.help" |
        sed 's/\[env //' | tr '\n' ' ' || true)
    env_page=$(section "$text" ENVIRONMENT | grep -o '^ *JOBRT_[A-Z0-9_]*' |
        tr -d ' ' | tr '\n' ' ' || true)
    assert_eq "$env_help" "$env_page" "ENVIRONMENT of $name.1"

    see=$(section "$text" "SEE ALSO" | words | tr -d ',' | tr '\n' ' ')
    want_see=""
    [ -z "$c" ] || want_see="jobrt(1) "
    for o in "${CMDS[@]}"; do
        [ "$o" = "$c" ] || want_see="${want_see}jobrt-$o(1) "
    done
    assert_eq "$want_see" "$see" "SEE ALSO of $name.1"
done

# ---- the comparison can fail ---------------------------------------------

# a page one word off its help (as after a --help edit without a rebuild)
sed 's/^Show this help and exit\.$/Show this help and quit./' \
    "$MAN_DIR/jobrt-exec.1" >"$W/stale.1"
cmp -s "$MAN_DIR/jobrt-exec.1" "$W/stale.1" &&
    fail "the stale page fixture did not change jobrt-exec.1"
if same_words "$W/stale.1" "$W/jobrt-exec.help" "stale fixture" 2>/dev/null; then
    fail "a page with a changed word passed the comparison"
fi
# a help with a word more than its page
sed '3s/$/ Extra./' "$W/jobrt-exec.help" >"$W/longer.help"
if same_words "$MAN_DIR/jobrt-exec.1" "$W/longer.help" "longer fixture" \
    2>/dev/null; then
    fail "a help with one more word passed the comparison"
fi
pass
