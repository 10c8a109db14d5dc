/*
 * report_render.cpp - example jobrt plugin in C++17, "cpp-report" 1.0.0. It
 * serves job "report_render" with payload schema 1: a titled table, turned
 * into text, CSV or Markdown, optionally with a totals row:
 *     {"title":"Weekly sales","columns":["region","units"],
 *      "rows":[["north",12],["south",7]],"format":"markdown","totals":true}
 * The result holds the rendered report and the sum of each numeric column.
 *
 * What it shows about C++ plugins (include/jobrt/plugin.h, "C++ plugins"):
 *   - the descriptor and handler table are built with the constexpr
 *     jobrt::plugin / jobrt::handler helpers and exported by JOBRT_PLUGIN;
 *   - state lives in a class that init() makes and fini() deletes, not in
 *     globals: no static object with a constructor or destructor (they run
 *     inside dlopen/dlclose), no thread_local (one with a destructor keeps
 *     the library mapped, so it could never be reloaded);
 *   - no exception leaves the plugin: each entry point catches and returns
 *     a jobrt outcome;
 *   - the payload is parsed with cJSON's C API, inside fixed bounds.
 */
#include <jobrt/plugin.h>

#include <cjson/cJSON.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

constexpr const char *plugin_name = "cpp-report";
constexpr const char *plugin_version = "1.0.0";

/* Bounds on what one payload may ask for. */
constexpr size_t max_columns = 32;
constexpr size_t max_rows = 10000;
constexpr size_t max_cell_bytes = 256;
constexpr size_t max_report_bytes = 1u << 20;
constexpr size_t rows_per_cancel_check = 256;

enum class Format { text, csv, markdown };

using Row = std::vector<std::string>;

/* A report as the payload describes it. */
struct Table {
    std::string title;
    Row columns;
    std::vector<Row> rows;
    std::vector<double> sums;  /* per column */
    std::vector<bool> numeric; /* every non-null cell of it is a number */
    Format format = Format::text;
    bool totals = false;
};

struct JsonDelete {
    void operator()(cJSON *json) const noexcept { cJSON_Delete(json); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDelete>;

/* A number as a report shows it: whole numbers without a fraction. */
std::string format_number(double v)
{
    char buf[40];
    if (std::fabs(v) < 9007199254740992.0 && v == std::floor(v))
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/* ---- parsing -------------------------------------------------------- */

/* Fills t from the payload; returns "" or why it cannot be rendered. */
std::string parse_table(const cJSON *root, Table &t)
{
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(root, "title");
    const cJSON *columns = cJSON_GetObjectItemCaseSensitive(root, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "rows");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *totals = cJSON_GetObjectItemCaseSensitive(root, "totals");

    if (!cJSON_IsString(title) || std::strlen(title->valuestring) == 0 ||
        std::strlen(title->valuestring) > max_cell_bytes)
        return "title must be a string of 1 to 256 bytes";
    t.title = title->valuestring;
    if (format != nullptr) {
        const char *f = cJSON_IsString(format) ? format->valuestring : "";
        if (std::strcmp(f, "text") == 0)
            t.format = Format::text;
        else if (std::strcmp(f, "csv") == 0)
            t.format = Format::csv;
        else if (std::strcmp(f, "markdown") == 0)
            t.format = Format::markdown;
        else
            return "format must be \"text\", \"csv\" or \"markdown\"";
    }
    if (totals != nullptr && !cJSON_IsBool(totals))
        return "totals must be true or false";
    t.totals = cJSON_IsTrue(totals);

    int n_columns = cJSON_IsArray(columns) ? cJSON_GetArraySize(columns) : 0;
    if (n_columns < 1 || static_cast<size_t>(n_columns) > max_columns)
        return "columns must be an array of 1 to 32 strings";
    const cJSON *c;
    cJSON_ArrayForEach(c, columns) {
        if (!cJSON_IsString(c) || std::strlen(c->valuestring) > max_cell_bytes)
            return "columns must be an array of 1 to 32 strings";
        t.columns.emplace_back(c->valuestring);
    }
    t.sums.assign(t.columns.size(), 0);
    t.numeric.assign(t.columns.size(), true);

    if (!cJSON_IsArray(rows) ||
        static_cast<size_t>(cJSON_GetArraySize(rows)) > max_rows)
        return "rows must be an array of at most 10000 rows";
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        std::string where = "row " + std::to_string(t.rows.size() + 1);
        if (!cJSON_IsArray(r) ||
            static_cast<size_t>(cJSON_GetArraySize(r)) != t.columns.size())
            return where + ": expected an array of " +
                   std::to_string(t.columns.size()) + " cells";
        Row row;
        size_t i = 0;
        const cJSON *cell;
        cJSON_ArrayForEach(cell, r) {
            if (cJSON_IsNumber(cell) && std::isfinite(cell->valuedouble)) {
                t.sums[i] += cell->valuedouble;
                row.push_back(format_number(cell->valuedouble));
            } else if (cJSON_IsString(cell) &&
                       std::strlen(cell->valuestring) <= max_cell_bytes) {
                t.numeric[i] = false;
                row.emplace_back(cell->valuestring);
            } else if (cJSON_IsNull(cell)) {
                row.emplace_back();
            } else if (cJSON_IsBool(cell)) {
                t.numeric[i] = false;
                row.emplace_back(cJSON_IsTrue(cell) ? "yes" : "no");
            } else {
                return where + ": cell " + std::to_string(i + 1) +
                       " must be a number, a string of at most 256 bytes, "
                       "a boolean or null";
            }
            i++;
        }
        t.rows.push_back(std::move(row));
    }
    return "";
}

/* ---- rendering ------------------------------------------------------ */

/* Display width of UTF-8 text: its code points. */
size_t width_of(const std::string &s)
{
    size_t n = 0;
    for (unsigned char ch : s)
        n += (ch & 0xc0) != 0x80;
    return n;
}

std::string csv_field(const std::string &s)
{
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"')
            out += '"';
        out += ch;
    }
    return out + "\"";
}

std::string markdown_field(const std::string &s)
{
    std::string out;
    for (char ch : s) {
        if (ch == '|' || ch == '\\')
            out += '\\';
        out += (ch == '\n' || ch == '\r') ? ' ' : ch;
    }
    return out;
}

void append_padded(std::string &out, const std::string &s, size_t width,
                   bool right)
{
    std::string pad(width - width_of(s), ' ');
    out += right ? pad + s : s + pad;
}

enum class Rendered { done, cancelled, too_big };

/* Writes the report into out, checking for cancellation every few hundred
 * rows and stopping once it outgrows max_report_bytes. */
class Renderer {
public:
    Renderer(const jobrt_host_api *host, const jobrt_job *job)
        : host_(host), job_(job)
    {
    }

    Rendered render(const Table &t, std::string &out) const
    {
        std::vector<Row> body = t.rows;
        if (t.totals) {
            Row row;
            for (size_t i = 0; i < t.columns.size(); i++) {
                if (t.numeric[i])
                    row.push_back(format_number(t.sums[i]));
                else
                    row.emplace_back(i == 0 ? "total" : "");
            }
            body.push_back(std::move(row));
        }
        switch (t.format) {
        case Format::csv:
            return csv(t, body, out);
        case Format::markdown:
            return markdown(t, body, out);
        case Format::text:
            break;
        }
        return text(t, body, out);
    }

private:
    /* Whether to stop before body row r. */
    Rendered check(size_t r, const std::string &out) const
    {
        if (out.size() > max_report_bytes)
            return Rendered::too_big;
        if (r % rows_per_cancel_check == 0 &&
            host_->job_cancel_requested(job_) != 0)
            return Rendered::cancelled;
        return Rendered::done;
    }

    Rendered csv(const Table &t, const std::vector<Row> &body,
             std::string &out) const
    {
        out += "# " + t.title + "\n";
        for (size_t i = 0; i < t.columns.size(); i++)
            out += (i ? "," : "") + csv_field(t.columns[i]);
        out += "\n";
        for (size_t r = 0; r < body.size(); r++) {
            Rendered stop = check(r, out);
            if (stop != Rendered::done)
                return stop;
            for (size_t i = 0; i < body[r].size(); i++)
                out += (i ? "," : "") + csv_field(body[r][i]);
            out += "\n";
        }
        return check(0, out) == Rendered::too_big ? Rendered::too_big
                                                   : Rendered::done;
    }

    Rendered markdown(const Table &t, const std::vector<Row> &body,
                  std::string &out) const
    {
        out += "## " + markdown_field(t.title) + "\n\n|";
        for (const std::string &c : t.columns)
            out += " " + markdown_field(c) + " |";
        out += "\n|";
        for (size_t i = 0; i < t.columns.size(); i++)
            out += t.numeric[i] ? " ---: |" : " --- |";
        out += "\n";
        for (size_t r = 0; r < body.size(); r++) {
            Rendered stop = check(r, out);
            if (stop != Rendered::done)
                return stop;
            out += "|";
            for (const std::string &cell : body[r])
                out += " " + markdown_field(cell) + " |";
            out += "\n";
        }
        return check(0, out) == Rendered::too_big ? Rendered::too_big
                                                   : Rendered::done;
    }

    /* Aligned columns: numbers to the right, text to the left. */
    Rendered text(const Table &t, const std::vector<Row> &body,
              std::string &out) const
    {
        std::vector<size_t> width(t.columns.size());
        for (size_t i = 0; i < t.columns.size(); i++)
            width[i] = width_of(t.columns[i]);
        for (const Row &row : body)
            for (size_t i = 0; i < row.size(); i++)
                width[i] = std::max(width[i], width_of(row[i]));
        out += t.title + "\n\n";
        for (size_t i = 0; i < t.columns.size(); i++) {
            out += i ? "  " : "";
            append_padded(out, t.columns[i], width[i], t.numeric[i]);
        }
        out += "\n";
        for (size_t r = 0; r < body.size(); r++) {
            Rendered stop = check(r, out);
            if (stop != Rendered::done)
                return stop;
            for (size_t i = 0; i < body[r].size(); i++) {
                out += i ? "  " : "";
                append_padded(out, body[r][i], width[i], t.numeric[i]);
            }
            out += "\n";
        }
        return check(0, out) == Rendered::too_big ? Rendered::too_big
                                                   : Rendered::done;
    }

    const jobrt_host_api *host_;
    const jobrt_job *job_;
};

/* ---- the plugin's state: one per load, made by init() --------------- */

class ReportService {
public:
    ReportService(const jobrt_host_api *host, jobrt_plugin_ref *self)
        : host_(host), self_(self)
    {
    }

    /* Called from several worker threads at once: touches only the job's
     * own data and the atomic counters. */
    int run(jobrt_job *job)
    {
        size_t len = 0;
        const char *payload = host_->job_payload(job, &len);
        JsonPtr root(cJSON_ParseWithLength(payload, len));
        if (!cJSON_IsObject(root.get()))
            return reject(job, "not a JSON object");
        Table t;
        std::string bad = parse_table(root.get(), t);
        if (!bad.empty())
            return reject(job, bad);

        std::string report;
        switch (Renderer(host_, job).render(t, report)) {
        case Rendered::cancelled:
            host_->job_set_error(job, "cancelled while rendering");
            return JOBRT_RETRY; /* not done: another run may finish it */
        case Rendered::too_big:
            return reject(job, "the report would exceed 1 MiB");
        case Rendered::done:
            break;
        }

        JsonPtr result(make_result(t, report));
        char *text = result ? cJSON_PrintUnformatted(result.get()) : nullptr;
        int rc = text ? host_->job_set_result(job, text, std::strlen(text))
                      : -1;
        cJSON_free(text);
        if (rc != 0) {
            host_->job_set_error(job, "could not record the result");
            return JOBRT_RETRY;
        }
        rendered_.fetch_add(1, std::memory_order_relaxed);
        host_->job_log(job, JOBRT_LOG_INFO, "rendered \"%s\": %zu rows",
                       t.title.c_str(), t.rows.size());
        return JOBRT_OK;
    }

    void log_summary() const
    {
        host_->log(self_, JOBRT_LOG_INFO,
                   "%s %s build %s fini: %llu rendered, %llu rejected",
                   plugin_name, plugin_version, JOBRT_BUILD_ID,
                   static_cast<unsigned long long>(rendered_.load()),
                   static_cast<unsigned long long>(rejected_.load()));
    }

private:
    int reject(jobrt_job *job, const std::string &why)
    {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        host_->job_set_error(job, "payload: %s", why.c_str());
        return JOBRT_FAIL; /* the same payload can never succeed */
    }

    /* The result object, or nullptr when out of memory. */
    static cJSON *make_result(const Table &t, const std::string &report)
    {
        static const char *const formats[] = {"text", "csv", "markdown"};
        JsonPtr result(cJSON_CreateObject());
        bool ok =
            cJSON_AddStringToObject(result.get(), "title", t.title.c_str()) &&
            cJSON_AddStringToObject(result.get(), "format",
                                    formats[static_cast<int>(t.format)]) &&
            cJSON_AddNumberToObject(result.get(), "rows",
                                    static_cast<double>(t.rows.size()));
        cJSON *sums = ok ? cJSON_AddObjectToObject(result.get(), "sums")
                         : nullptr;
        ok = sums != nullptr;
        for (size_t i = 0; ok && i < t.columns.size(); i++)
            if (t.numeric[i] && !t.rows.empty())
                ok = cJSON_AddNumberToObject(sums, t.columns[i].c_str(),
                                             t.sums[i]) != nullptr;
        if (ok)
            ok = cJSON_AddStringToObject(result.get(), "report",
                                         report.c_str()) != nullptr;
        return ok ? result.release() : nullptr;
    }

    const jobrt_host_api *host_;
    jobrt_plugin_ref *self_;
    std::atomic<uint64_t> rendered_{0};
    std::atomic<uint64_t> rejected_{0};
};

/* ---- the C entry points: no exception may leave them ---------------- */

int report_init(const jobrt_host_api *host, jobrt_plugin_ref *self,
                void **ctx) noexcept
{
    ReportService *service = new (std::nothrow) ReportService(host, self);
    if (service == nullptr) {
        host->log(self, JOBRT_LOG_ERROR, "out of memory");
        return -1;
    }
    host->log(self, JOBRT_LOG_INFO, "%s %s build %s init", plugin_name,
              plugin_version, JOBRT_BUILD_ID);
    *ctx = service;
    return 0;
}

void report_fini(void *ctx) noexcept
{
    ReportService *service = static_cast<ReportService *>(ctx);
    service->log_summary();
    delete service;
}

int report_render(const jobrt_host_api *host, void *ctx,
                  jobrt_job *job) noexcept
{
    try {
        return static_cast<ReportService *>(ctx)->run(job);
    } catch (const std::bad_alloc &) {
        host->job_set_error(job, "out of memory while rendering");
        return JOBRT_RETRY;
    } catch (...) {
        host->job_set_error(job, "internal error while rendering");
        return JOBRT_FAIL;
    }
}

constexpr jobrt_handler_desc handlers[] = {
    jobrt::handler("report_render", 1, 1, report_render)
        .timeout_ms(30000)
        .max_attempts(3),
};

} /* namespace */

JOBRT_PLUGIN jobrt::plugin(plugin_name, plugin_version, JOBRT_BUILD_ID,
                           handlers)
    .init(report_init)
    .fini(report_fini);
