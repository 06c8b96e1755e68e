# A private lab for the bench scripts that run in a network namespace of their own (coldlat.sh,
# missgrind.sh, resolver.sh with PRIVATE_NETNS=1). Sourced (POSIX sh); needs ROOT, the tree's top.
# The lab's zones and keys are generated per lab.sh version: a copy of the tree's generated
# material is reused when it is there (generating it again takes a minute), without the run state
# (PIDs, users) of the tree's own lab.

privlab_copy() { # $1 run directory to fill
	mkdir -p "$1"
	if [ -d "$ROOT/tests/lab/run/zones" ]; then
		cp -a "$ROOT/tests/lab/run/." "$1/" 2>/dev/null || true
	fi
	rm -f "$1"/*.pid "$1/lab.users" "$1/started-by"
}

privlab_up() { # $1 run directory, $2 faultd binary: starts the lab there (its output in $1.out)
	privlab_copy "$1"
	VIGIL_LAB_DIR="$1" VIGIL_FAULTD="$2" "$ROOT/tests/lab/lab.sh" up >"$1.out" 2>&1 ||
		{ cat "$1.out" >&2; return 1; }
}

privlab_down() { # $1 run directory
	VIGIL_LAB_DIR="$1" "$ROOT/tests/lab/lab.sh" down >/dev/null 2>&1 || true
}
