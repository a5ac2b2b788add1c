// A user's program, built against an installed vigil through find_package.
#include <vigil/monitor.hpp>

int main() {
    const vigil::Config config = vigil::Config::load({{"CONTAINER_NAME", "consumer"}}, "");
    vigil::Monitor monitor{config};
    monitor.pulse();
    return config.node_name == "consumer" && !monitor.is_leader() ? 0 : 1;
}
