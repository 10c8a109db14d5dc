# help2roff.awk - turns the --help text of jobrt or of one jobrt command
# into a man page (roff, man macros), so the pages say what --help says.
# POSIX awk (mawk, gawk, busybox); run by cmake/man_pages.cmake.
#
#   awk -f help2roff.awk -v top=TOP_HELP -v cmd=CMD -v version=V -v date=D HELP
#       HELP is `jobrt CMD --help` (or `jobrt --help` with cmd empty: the
#       jobrt(1) page); TOP_HELP is `jobrt --help`, for the one-line summary
#       in NAME and the pages in SEE ALSO.
#   awk -f help2roff.awk -v mode=commands TOP_HELP
#       prints the command names of TOP_HELP's Commands: section.
#
# The --help layout it reads (runtime/cli/options.c, cli_print_help, and
# main.c's usage()):
#   Usage: jobrt CMD ...          more usage lines start with 7 spaces
#   (blank)
#   description paragraphs        blank lines between; lines indented by 2+
#                                 are lists: a line with deeper-indented
#                                 lines under it is a tagged item, "1. " or
#                                 "- " starts a numbered or bulleted one
#   Exit codes: ...               to the end of the description
#   (blank)
#   Options:                      "  -p, --name META   text [env JOBRT_X]"
# and for jobrt itself a "Commands:" section ("  name   summary") and a
# closing paragraph instead of Options:. The page keeps every word of the
# help in the same order (tests/e2e/man_pages.sh checks it); it only adds
# NAME, the section headings, ENVIRONMENT and SEE ALSO.

# ---- roff text ------------------------------------------------------------

# Escapes text for a roff text line: backslashes, quotes that roff would
# curl, hyphens ("\-" where it is an option dash, a minus or part of a
# literal; a plain "-" only inside a prose word like "short-lived"), and
# long options in bold. Text lines never start with a control character.
function esc(s,    out, i, n, c, p, q, word_dash, m)
{
    out = ""
    n = length(s)
    word_dash = 0
    for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        p = i > 1 ? substr(s, i - 1, 1) : " "
        if (index(" ([{'\"`/|,=<", p)) {
            word_dash = (c == "-")
            if (c == "-" && match(substr(s, i), /^--[a-z][a-z0-9-]*/)) {
                m = substr(s, i, RLENGTH)
                gsub(/-/, "\\\\-", m)
                out = out "\\fB" m "\\fR"
                i += RLENGTH - 1
                continue
            }
        }
        q = substr(s, i + 1, 1)
        if (c == "-" && !word_dash && p ~ /[A-Za-z]/ && q ~ /[A-Za-z]/)
            out = out "-"
        else
            out = out esc_char(c)
    }
    if (out ~ /^[.]/)
        out = "\\&" out
    return out
}

# One character as roff text: "\\e", "\\(aq", "\\(ga" and "\\-" for the
# characters roff would take as an escape or print as a curly quote or a
# hyphen.
function esc_char(c)
{
    if (c == "\\")
        return "\\e"
    if (c == "'")
        return "\\(aq"
    if (c == "`")
        return "\\(ga"
    if (c == "-")
        return "\\-"
    return c
}

# A synopsis-style line: "jobrt" and the command in bold, options in bold,
# placeholders (words in capitals) in italics.
function synopsis(s,    out, i, n, c, rest, m, words)
{
    out = ""
    words = 0
    n = length(s)
    for (i = 1; i <= n; ) {
        rest = substr(s, i)
        if (match(rest, /^--?[A-Za-z][A-Za-z0-9-]*/) &&
            (i == 1 || index(" [(|", substr(s, i - 1, 1)))) {
            m = substr(rest, 1, RLENGTH)
            gsub(/-/, "\\\\-", m)
            out = out "\\fB" m "\\fR"
        } else if (match(rest, /^[A-Z][A-Z0-9_:]*/)) {
            out = out "\\fI" substr(rest, 1, RLENGTH) "\\fR"
        } else if (match(rest, /^[a-z_][a-z0-9_]*/)) {
            m = substr(rest, 1, RLENGTH)
            words++
            if (words == 1 && m == "jobrt" || words == 2 && m == cmd)
                out = out "\\fB" m "\\fR"
            else
                out = out m
        } else {
            RLENGTH = 1
            out = out esc_char(substr(rest, 1, 1))
        }
        i += RLENGTH
    }
    if (out ~ /^[.]/)
        out = "\\&" out
    return out
}

function indent_of(s)
{
    match(s, /^ */)
    return RLENGTH
}

function strip(s)
{
    sub(/^[ \t]+/, "", s)
    sub(/[ \t]+$/, "", s)
    return s
}

function blank(s)
{
    return s ~ /^[ \t]*$/
}

# Prints lines first..last of L as roff paragraphs (see the layout above).
function emit_block(first, last,    i, ln, ind, base, in_rs, items,
                    started, need_pp, marker, width, compact)
{
    in_rs = 0
    started = 0
    need_pp = 0
    compact = 0
    for (i = first; i <= last; i++) {
        ln = L[i]
        if (blank(ln)) {
            if (in_rs) {
                compact = end_rs(compact)
                in_rs = 0
            }
            need_pp = started
            continue
        }
        ind = indent_of(ln)
        if (ind == 0) {
            if (in_rs) {
                compact = end_rs(compact)
                in_rs = 0
            }
            if (need_pp)
                print ".PP"
            need_pp = 0
            print esc(ln)
            started = 1
            continue
        }
        if (!in_rs) {
            if (need_pp)
                print ".PP"
            need_pp = 0
            base = ind
            items = 0
            print ".RS " base
            in_rs = 1
            started = 1
        }
        if (ind > base) {  # the text of an item, or a continuation
            print esc(strip(ln))
            continue
        }
        if (match(substr(ln, ind + 1), /^([0-9]+[.)]|[-*]) +/)) {
            width = RLENGTH
            marker = strip(substr(ln, ind + 1, width))
            if (!compact) {
                print ".PD 0"   # numbered items one under the other
                compact = 1
            }
            print ".IP " esc(marker) " " width
            print esc(strip(substr(ln, ind + 1 + width)))
            items++
        } else if (i < last && !blank(L[i + 1]) && indent_of(L[i + 1]) > ind) {
            print ".TP"
            ln = strip(ln)
            print (ln ~ /^jobrt / ? synopsis(ln) : esc(ln))
            items++
        } else {
            if (items)
                print ".PP"
            items = 0
            print esc(strip(ln))
        }
    }
    if (in_rs)
        end_rs(compact)
}

# Ends an indented run; returns the new "compact" state (0).
function end_rs(compact)
{
    print ".RE"
    if (compact)
        print ".PD"
    return 0
}

# ---- the top-level help ---------------------------------------------------

# Reads TOP_HELP: the command names and summaries, and jobrt's own summary.
function read_top(path,    line, in_cmds, name, desc_started)
{
    n_cmds = 0
    in_cmds = 0
    top_summary = ""
    desc_started = 0
    while ((getline line < path) > 0) {
        if (line == "Commands:") {
            in_cmds = 1
            continue
        }
        if (in_cmds) {
            if (blank(line))
                break
            if (match(line, /^  [a-z][a-z0-9_-]*  +/)) {
                name = strip(substr(line, 1, RLENGTH))
                CMD_NAME[++n_cmds] = name
                CMD_SUMMARY[name] = strip(substr(line, RLENGTH + 1))
            }
            continue
        }
        if (top_summary == "" && desc_started && !blank(line))
            top_summary = line
        if (blank(line))
            desc_started = 1
    }
    close(path)
    # "A worker runtime for background jobs: handlers ..." -> NAME
    sub(/[:.].*$/, "", top_summary)
    top_summary = tolower(substr(top_summary, 1, 1)) substr(top_summary, 2)
}

# ---- one page -------------------------------------------------------------

function page_name(c)
{
    return c == "" ? "jobrt" : "jobrt-" c
}

function emit_options(first, last,    i, ln, rest, spec, text, env, flag_vals,
                      n_env, k)
{
    print ".SH OPTIONS"
    n_env = 0
    for (i = first; i <= last; i++) {
        ln = L[i]
        if (blank(ln))
            continue
        if (!match(ln, /^  (-[A-Za-z0-9], |    )--[a-z0-9-]+( [^ ]+)? +/)) {
            print esc(strip(ln))  # a wrapped help line: more text
            continue
        }
        spec = strip(substr(ln, 1, RLENGTH))
        text = substr(ln, RLENGTH + 1)
        print ".TP"
        print optspec(spec)
        print esc(text)
        if (match(text, /\[env JOBRT_[A-Z0-9_]+(: [^]]*)?\]$/)) {
            env = substr(text, RSTART + 5, RLENGTH - 6)
            flag_vals = ""
            if ((k = index(env, ": ")) > 0) {
                flag_vals = substr(env, k + 2)
                env = substr(env, 1, k - 1)
            }
            match(spec, /--[a-z0-9-]+/)
            ENV_NAME[++n_env] = env
            ENV_OPT[n_env] = substr(spec, RSTART, RLENGTH)
            ENV_VALS[n_env] = flag_vals
        }
    }
    return n_env
}

# "-p, --plugin-dir DIR" -> bold option names, the placeholder in italics.
function optspec(spec,    n, parts, out, i)
{
    n = split(spec, parts, " ")
    out = ""
    for (i = 1; i <= n; i++) {
        if (parts[i] ~ /^-/) {
            gsub(/-/, "\\\\-", parts[i])
            sub(/,$/, "\\\\fR,", parts[i])
            out = out (i > 1 ? " " : "") "\\fB" parts[i] \
                (parts[i] ~ /\\fR,$/ ? "" : "\\fR")
        } else
            out = out " \\fI" esc(parts[i]) "\\fR"
    }
    return out
}

function emit_environment(n_env,    k)
{
    if (n_env == 0)
        return
    print ".SH ENVIRONMENT"
    for (k = 1; k <= n_env; k++) {
        print ".TP"
        print ".B " ENV_NAME[k]
        print "The value of " esc(ENV_OPT[k]) \
            (ENV_VALS[k] != "" ? " (" esc(ENV_VALS[k]) ")" : "") \
            " when the command line does not give it."
    }
}

# A page name in SEE ALSO: "\\%" keeps it on one line, "\\-" prints "-".
function see_name(name)
{
    gsub(/-/, "\\\\-", name)
    return name
}

function emit_see_also(    k, first, out)
{
    print ".SH SEE ALSO"
    first = 1
    if (cmd != "") {
        print ".BR jobrt (1)" (n_cmds > 1 ? "," : "")
        first = 0
    }
    for (k = 1; k <= n_cmds; k++) {
        if (CMD_NAME[k] == cmd)
            continue
        out = ".BR \\%" see_name(page_name(CMD_NAME[k])) " (1)"
        if (k < n_cmds && !(k == n_cmds - 1 && CMD_NAME[n_cmds] == cmd))
            out = out ","
        print out
    }
}

function emit_page(    i, u_last, d_first, d_last, o_first, x_first, c_first,
                   c_last, t_first, title, summary, n_env, width)
{
    if (L[1] !~ /^Usage: /) {
        print "help2roff: " FILENAME ": the help does not start with " \
            "'Usage: '" > "/dev/stderr"
        exit 1
    }
    for (u_last = 1; u_last < n && L[u_last + 1] ~ /^       [^ ]/; u_last++)
        ;
    d_first = u_last + 1
    while (d_first <= n && blank(L[d_first]))
        d_first++
    o_first = n + 1
    c_first = 0
    for (i = d_first; i <= n; i++) {
        if (L[i] == "Options:") {
            o_first = i + 1
            break
        }
        if (L[i] == "Commands:") {
            c_first = i + 1
            break
        }
    }
    d_last = i - 1
    while (d_last >= d_first && blank(L[d_last]))
        d_last--
    x_first = 0
    for (i = d_first; i <= d_last; i++)
        if (L[i] ~ /^Exit codes: /) {
            x_first = i
            break
        }

    title = toupper(page_name(cmd))
    summary = cmd == "" ? top_summary : CMD_SUMMARY[cmd]
    if (summary == "") {
        print "help2roff: '" cmd "' is not in the Commands: of " top \
            > "/dev/stderr"
        exit 1
    }
    print ".\\\" Generated from `" (cmd == "" ? "jobrt --help" : \
        "jobrt " cmd " --help") "` by cmake/help2roff.awk: do not edit."
    print ".TH " esc(title) " 1 \"" date "\" \"jobrt " version \
        "\" \"jobrt manual\""
    print ".nh"
    print ".ad l"
    print ".SH NAME"
    print esc(page_name(cmd)) " \\- " esc(summary)
    print ".SH SYNOPSIS"
    for (i = 1; i <= u_last; i++) {
        if (i > 1)
            print ".br"
        print synopsis(strip(i == 1 ? substr(L[i], 8) : L[i]))
    }
    print ".SH DESCRIPTION"
    emit_block(d_first, x_first ? x_first - 1 : d_last)
    if (c_first) {
        print ".SH COMMANDS"
        print ".PD 0"
        for (c_last = c_first; c_last <= n && !blank(L[c_last]); c_last++) {
            match(L[c_last], /^  [a-z][a-z0-9_-]*  +/)
            width = RLENGTH
            print ".TP 10"
            print "\\fB" esc(strip(substr(L[c_last], 1, width))) "\\fR"
            print esc(strip(substr(L[c_last], width + 1)))
        }
        print ".PD"
        for (t_first = c_last; t_first <= n && blank(L[t_first]); t_first++)
            ;
        if (t_first <= n) {
            print ".PP"
            emit_block(t_first, n)
        }
    }
    n_env = 0
    if (o_first <= n)
        n_env = emit_options(o_first, n)
    if (x_first) {
        print ".SH EXIT STATUS"
        sub(/^Exit codes: /, "", L[x_first])
        emit_block(x_first, d_last)
    }
    emit_environment(n_env)
    emit_see_also()
}

BEGIN {
    if (mode == "commands") {
        read_top(ARGV[1])
        for (k = 1; k <= n_cmds; k++)
            print CMD_NAME[k]
        exit 0
    }
    read_top(top)
    n = 0
}

{ L[++n] = $0 }

END {
    if (mode != "commands")
        emit_page()
}
