#!/usr/bin/env bash
# Best-effort install of the system tools the end-to-end tests drive: tmux (real-terminal
# tests) and openssh-server (the ssh:// attach test). Tests that need a missing tool skip
# with a reason, so a failure here never fails the suite.
set -u
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: missing ${need[*]}; the tests that need them will be skipped" >&2
  exit 0
fi
echo "installing test tools: ${need[*]}" >&2
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
  || echo "note: could not install ${need[*]}; the tests that need them will be skipped" >&2
exit 0
