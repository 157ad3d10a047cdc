/*
 * cli/main.c — the stoker binary's entry point; everything else is in cli_main so tests can
 * drive the command line in-process.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv, stdout, stderr);
}
