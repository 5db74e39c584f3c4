// main.cpp - the sxplan executable.
#include <iostream>
#include <string>
#include <vector>

#include <selfextend/atomic_output.hpp>

#include "sxplan_main.hpp"

int main(int argc, char** argv) {
  selfextend::remove_temporary_outputs_on_signal();  // Ctrl-C mid-write leaves no file behind
  return sxplan::run_sxplan(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
