# Sourced by scripts/moto-server, scripts/cfn-lint and scripts/package-lambda: Python tools
# from PyPI, each in its own venv, one per tool and version, shared by every clone of the
# repository on the machine.
#
# Why shared: a venv is ~30 s of pip on this project's 2-core machine (moto alone pulls about
# forty packages), and a fresh clone (CI's, a second worktree) would otherwise pay it every
# time. Versions are pinned, so clones that pin the same version can use the same venv; a
# version bump gets a venv of its own.
#
# Where: $KELISIM_TOOLS_DIR if set, else ${XDG_CACHE_HOME:-$HOME/.cache}/kelisim/tools, else
# (no HOME) the clone's own .tools/.

# tool_venv NAME VERSION REQUIREMENT...: prints the path of a venv with the REQUIREMENTs
# installed, making it first if needed. Concurrent callers wait for one install (flock); an install that
# was interrupted is redone, because a venv counts only once its marker file exists.
tool_venv() {
    local name="$1" version="$2"
    shift 2
    local requirements=("$@")
    local base
    if [[ -n "${KELISIM_TOOLS_DIR:-}" ]]; then
        base="$KELISIM_TOOLS_DIR"
    elif [[ -n "${XDG_CACHE_HOME:-}" || -n "${HOME:-}" ]]; then
        base="${XDG_CACHE_HOME:-$HOME/.cache}/kelisim/tools"
    else
        base="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.tools"
    fi
    local venv="$base/$name-$version"
    if [[ ! -f "$venv/.kelisim-ready" ]]; then
        mkdir -p "$base" || return 1
        (
            flock 9
            if [[ ! -f "$venv/.kelisim-ready" ]]; then
                echo "installing ${requirements[*]} into $venv" >&2
                rm -rf "$venv"
                "${PYTHON:-python3}" -m venv "$venv" >&2 &&
                    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                        "${requirements[@]}" >&2 &&
                    touch "$venv/.kelisim-ready"
            fi
        ) 9>"$base/$name-$version.lock" || return 1
    fi
    printf '%s\n' "$venv"
}
