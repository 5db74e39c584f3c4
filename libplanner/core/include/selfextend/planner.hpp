// planner.hpp - umbrella header for the pure-C++ core (target selfextend::planner).
#pragma once

#include <selfextend/advice.hpp>
#include <selfextend/attention.hpp>
#include <selfextend/error.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/models.hpp>
#include <selfextend/params.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/position_tables.hpp>
#include <selfextend/reuse.hpp>
#include <selfextend/rope.hpp>
#include <selfextend/version.hpp>
