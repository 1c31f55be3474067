"""`python -m funcgrad`: the main job (see funcgrad/demo.py)."""

from funcgrad.demo import main

if __name__ == "__main__":
    main()
