#!/bin/sh
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image):
# it installs what svrlab needs and builds the grader and the reference programs, so that each
# submission only builds its own files. `make gradescope` puts it at the top of the zip.
set -eu
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq make gcc >/dev/null
make deps
make
