# shellcheck shell=bash
# Sourced by the shipped buildpacks' bin/compile: output helpers and the per-app config they may use.
topic() { echo "-----> $*"; }
indent() { sed -u 's/^/       /'; }
# Export the ENV_DIR files a dependency download needs (Heroku style: config reaches a build only as files).
export_env_dir() {
  local dir=$1 name
  [ -d "$dir" ] || return 0
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    case "$name" in
      PIP_INDEX_URL|PIP_EXTRA_INDEX_URL|PIP_FIND_LINKS|PIP_TRUSTED_HOST|NPM_CONFIG_*|npm_config_*)
        export "$name=$(cat "$f")" ;;
    esac
  done
}
# A key of the files that decide the dependencies (and the stack's language version).
deps_key() {
  (cd "$BUILD_DIR" && "$@" 2>&1
   for f in "${KEY_FILES[@]}"; do if [ -f "$f" ]; then echo "== $f"; cat "$f"; fi; done) | sha256sum | cut -c1-32
}
