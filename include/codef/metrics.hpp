/// @file
/// @brief A client's built-in metrics (client::metrics): counters, a gauge and latency
/// histograms, read as a snapshot and rendered in the Prometheus text exposition format.
///
/// The metrics are always kept (relaxed atomic counters, no lock, no allocation per call). Their
/// names, labels and meaning are listed in the README ("Metrics").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace codef {

/// One metric family's kind.
enum class metric_type {
    counter,  ///< only goes up
    gauge,    ///< goes up and down
    histogram ///< observations counted into cumulative buckets, with their sum
};

/// A label's name and value.
using metric_label = std::pair<std::string, std::string>;

/// One series of a family: its labels and its value (counter, gauge) or its buckets (histogram).
struct metric_series {
    std::vector<metric_label> labels; ///< in the family's label order
    double value = 0; ///< counter or gauge value; for a histogram, the sum of observations
    /// Histogram only: the cumulative count at or below each of metric_family::bounds, then the
    /// total (the +Inf bucket, also the count of observations).
    std::vector<std::uint64_t> buckets;
};

/// A metric family: a name, its help text, its kind and its series.
struct metric_family {
    std::string name;                        ///< e.g. codef_calls_total
    std::string help;                        ///< one line
    metric_type type = metric_type::counter; ///< its kind
    std::vector<double> bounds;              ///< histogram only: bucket upper bounds, seconds
    std::vector<metric_series> series;       ///< every series, zero ones included
};

/// Every metric of a client at one moment.
struct metrics_snapshot {
    std::vector<metric_family> families; ///< in a fixed order

    /// The family named name, or null.
    const metric_family* find(std::string_view name) const noexcept;
    /// The sum of the values of every series of the family named name whose labels include all of
    /// match (for a histogram: of their observation counts). 0 when there is none.
    double sum(std::string_view name, const std::vector<metric_label>& match = {}) const;
};

/// s in the Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then a line
/// per series (`_bucket`, `_sum` and `_count` lines for a histogram). Serve it as
/// `text/plain; version=0.0.4`.
std::string to_prometheus(const metrics_snapshot& s);

} // namespace codef
