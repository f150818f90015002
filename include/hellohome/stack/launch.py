"""`python -m hellohome.stack.launch ENV_JSON PROGRAM [ARGS...]`: exec PROGRAM with exactly the
environment in ENV_JSON. supervisord runs each supervised service through this, so a service runs
in the configuration of whoever started it last (tests, then the caller's own), not in whatever
environment supervisord itself was started with."""
import json
import os
import sys

if __name__ == "__main__":
    env_file, program, *args = sys.argv[1:]
    with open(env_file) as fh:
        env = json.load(fh)
    os.chdir(env.pop("HELLOHOME_CWD", os.getcwd()))
    os.execve(program, [program, *args], env)
