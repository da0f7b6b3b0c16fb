# zsh zsh_complete.zsh FPATH_DIR LINE...: completes each LINE as zsh does at
# a Tab, in a fresh interactive zsh (compinit, then the widget
# complete-word) on a pseudo-terminal, and prints "LINE|match match ...".
# CommandLineTests drive the installed zsh completion with it.
zmodload zsh/zpty
directory=$1
shift

# Reads what the shell prints until a line holding `mark`; sets `seen`.
read_until() {
    local mark=$1 out
    seen=()
    integer deadline=$(( SECONDS + 20 ))
    while (( SECONDS < deadline )); do
        zpty -r -t shell out || { sleep 0.05; continue; }
        seen+=("${out//$'\r'/}")
        [[ $out == *$mark* ]] && return 0
    done
    print -u2 "no $mark from zsh"
    return 1
}

for line in "$@"; do
    zpty shell zsh -f -i
    zpty -w shell 'PS1=""; PS2=""; RPS1=""; unsetopt zle_bracketed_paste 2>/dev/null'
    zpty -w shell "fpath=(${(q)directory} \$fpath); autoload -Uz compinit; compinit -u -d ${(q)directory}/.zcompdump"
    # Each match completion would add is printed instead, marked.
    zpty -w shell 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a hits; builtin compadd -A hits "$@"; local code=$?; print -rl -- "<<"match">>"${^hits}; return code; }'
    zpty -w shell 'bindkey "^I" complete-word; print -r -- ready$(( 6 * 7 ))'
    read_until ready42 || exit 1
    zpty -w -n shell "$line"$'\t'
    zpty -w shell $'\C-u''print -r -- done$(( 6 * 7 ))'
    read_until done42 || exit 1
    # Joined first: a read may end in the middle of a line.
    matches=()
    out=${(j::)seen}
    while [[ $out == *'<<match>>'* ]]; do
        out=${out#*'<<match>>'}
        matches+=("${${out%%'<<match>>'*}%%$'\n'*}")
    done
    print -r -- "$line|${(j: :)matches}"
    zpty -d shell
done
