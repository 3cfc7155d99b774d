/* `vnetkit replay` (see replay/): placeholder until the replay driver lands. */
#include "cli/cli.h"

int vk_cmd_replay(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    vk_cli_error("replay: not available in this build yet");
    return VK_EXIT_USAGE;
}
