from hellohome.cli import main

main()
