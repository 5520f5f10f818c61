import Foundation

/// Text for HTML and SVG. Everything that comes from the store (actor names, configs,
/// errors, review reasons) is hostile input: it goes through `escape` and nothing else.
enum HTML {
    /// `text` safe inside element content and inside double- or single-quoted attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Control characters other than tab and newlines are not allowed in HTML text.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// One path segment, percent-encoded (workflow and step names may hold anything).
    static func segment(_ text: String) -> String { Form.encode(text) }

    /// The link to a step's page.
    static func stepPath(_ workflow: String, _ step: String) -> String {
        "/steps/\(segment(workflow))/\(segment(step))"
    }

    /// How a page is framed: live in the dashboard (navigation, refresh) or as a file to send.
    enum Frame {
        /// `nonce` authorises the inline refresh script under the response's CSP.
        case live(nonce: String)
        /// No links out, no script: one self-contained file.
        case report
    }

    /// A whole page: the shared style, a header, `body`, and for live pages the refresh
    /// script, which swaps `<main>` for a fresh copy unless the viewer is typing in a form.
    static func page(title: String, frame: Frame, body: String) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">

            """
        if case .report = frame {
            // A report may be opened anywhere: it must not fetch or run anything.
            html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        }
        html += "<title>\(escape(title))</title>\n<style>\(style)</style></head><body>\n<header>"
        switch frame {
        case .live:
            html += "<a class=\"brand\" href=\"/\">Wavehost</a><nav><a href=\"/\">Status</a><a href=\"/reviews\">Reviews</a></nav>"
        case .report:
            html += "<span class=\"brand\">Wavehost report</span>"
        }
        html += "</header>\n<main>\n\(body)\n</main>\n"
        if case .live(let nonce) = frame {
            html += "<script nonce=\"\(escape(nonce))\">\(refreshScript)</script>\n"
        }
        return html + "</body></html>\n"
    }

    /// Refreshes the page's data every 5 s without a reload; skipped while a form field
    /// holds text, so a review being written is never lost.
    static let refreshScript = """
        (function(){var busy=function(){return Array.prototype.some.call(document.querySelectorAll('main input[type=text],main input[type=password],main textarea'),\
        function(e){return e.value!==''||e===document.activeElement;});};\
        setInterval(function(){if(busy())return;fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null;})\
        .then(function(t){if(!t||busy())return;var d=new DOMParser().parseFromString(t,'text/html').querySelector('main');\
        if(d)document.querySelector('main').replaceWith(d);}).catch(function(){});},5000);})();
        """

    static let style = """
        :root{--fg:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;--card:#fff;--accent:#2563eb}
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
        header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#102a43;color:#fff}
        header a{color:#fff;text-decoration:none}.brand{font-weight:700;font-size:16px}nav a{margin-right:16px;opacity:.85}nav a:hover{opacity:1}
        main{max-width:1200px;margin:0 auto;padding:16px 24px 40px}
        h1{font-size:22px;margin:8px 0 4px}h2{font-size:16px;margin:0 0 10px}.sub{color:var(--muted);margin:0 0 16px}
        section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:0 0 16px}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}.grid section{margin:0}
        .cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:var(--bg);border-radius:6px;padding:8px 12px;min-width:110px}
        .card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .scroll{overflow-x:auto}td code{word-break:break-all}code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
        .err{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
        .none{color:var(--muted)}.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:var(--bg)}
        .promote{background:#d1fae5;color:#065f46}.continue{background:#e0e7ff;color:#3730a3}.roll-back{background:#fee2e2;color:#991b1b}
        .ask-a-person{background:#fef3c7;color:#92400e}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
        svg.plot{width:100%;height:auto;display:block}svg.plot text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#52606d}
        svg.plot .title{font-size:12px;font-weight:600;fill:#1f2933}
        .review+.review{border-top:1px solid var(--line);margin-top:12px;padding-top:4px}
        form.review{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-top:8px}
        form.review input{padding:4px 6px;border:1px solid #bcccdc;border-radius:4px;font:inherit}
        button{padding:4px 12px;border-radius:4px;border:1px solid var(--line);background:#fff;cursor:pointer;font-weight:600}
        button.accept{border-color:#059669;color:#065f46}button.reject{border-color:#dc2626;color:#991b1b}
        .notice{background:#fff7ed;border:1px solid #fdba74;border-radius:6px;padding:8px 12px;margin-bottom:16px}
        """

    /// A table; `numeric` marks columns aligned right. Cells are HTML already (escape first).
    static func table(_ headings: [String], _ rows: [[String]], numeric: Set<Int> = [], empty: String = "none") -> String {
        guard !rows.isEmpty else { return "<p class=\"none\">\(escape(empty))</p>" }
        func cell(_ tag: String, _ index: Int, _ content: String) -> String {
            "<\(tag)\(numeric.contains(index) ? " class=\"num\"" : "")>\(content)</\(tag)>"
        }
        var html = "<div class=\"scroll\"><table><thead><tr>" + headings.enumerated().map { cell("th", $0, escape($1)) }.joined() + "</tr></thead><tbody>"
        for row in rows { html += "<tr>" + row.enumerated().map { cell("td", $0, $1) }.joined() + "</tr>" }
        return html + "</tbody></table></div>"
    }

    /// Big numbers with a caption: the page's summary line.
    static func cards(_ items: [(value: String, label: String)]) -> String {
        "<div class=\"cards\">" + items.map { "<div class=\"card\"><b>\(escape($0.value))</b><span>\(escape($0.label))</span></div>" }.joined()
            + "</div>"
    }
}

/// Numbers and times as the pages print them.
enum Format {
    static func milliseconds(_ value: Double?) -> String {
        guard let value else { return "–" }
        return String(format: value < 10 ? "%.2f ms" : "%.0f ms", value)
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
    }

    /// A p-value: "< 0.001" rather than a misleading 0.000.
    static func pValue(_ value: Double?) -> String {
        guard let value else { return "–" }
        return value < 0.001 ? "< 0.001" : String(format: "%.3f", value)
    }

    static func number(_ value: Double?, _ digits: Int = 2) -> String {
        value.map { String(format: "%.\(digits)f", $0) } ?? "–"
    }

    /// How long before `now` a time (Unix ms) was: "12s ago".
    static func ago(_ time: Int64?, _ now: Int64) -> String {
        guard let time else { return "–" }
        let seconds = max(0, (now - time) / 1000)
        switch seconds {
        case ..<60: return "\(seconds)s ago"
        case ..<3600: return "\(seconds / 60)m ago"
        case ..<86_400: return "\(seconds / 3600)h ago"
        default: return "\(seconds / 86_400)d ago"
        }
    }

    /// A Unix-ms time as UTC, e.g. "2026-12-01 11:16:36 UTC".
    static func time(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// A duration in milliseconds, in a unit that reads at a glance.
    static func span(_ milliseconds: Int64) -> String {
        switch milliseconds {
        case ..<1000: return "\(milliseconds) ms"
        case ..<120_000: return String(format: "%.1f s", Double(milliseconds) / 1000)
        case ..<7_200_000: return "\(milliseconds / 60_000) min"
        default: return String(format: "%.1f h", Double(milliseconds) / 3_600_000)
        }
    }
}
