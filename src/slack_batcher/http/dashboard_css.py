"""The dashboard's stylesheet (inlined into the page: no static files, no build step)."""

__all__ = ["DASHBOARD_CSS"]

DASHBOARD_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1d1c1d;background:#f4f4f5}
header.top{display:flex;align-items:center;gap:16px;padding:10px 24px;background:#3f0e40;
color:#fff}
header.top h1{font-size:18px;margin:0}header.top .muted{color:#d8c8d8;flex:1}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
section{background:#fff;border:1px solid #e2e2e4;border-radius:8px;padding:12px 16px;
margin:0 0 16px}
section h2{font-size:15px;margin:0 0 8px}
#summary{display:flex;gap:24px;align-items:center;flex-wrap:wrap}
.figure{display:flex;flex-direction:column}.figure b{font-size:20px}
.figure span{color:#616061;font-size:12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{font-size:12px;color:#616061;font-weight:600}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:700}
.badge.healthy{background:#e3f6ea;color:#1a7f37}
.badge.degraded{background:#fff4d6;color:#8a5a00}
.badge.unhealthy{background:#fde7e9;color:#b3261e}
form.inline{display:inline;margin-left:8px}
button{font:inherit;font-size:12px;font-weight:600;border:1px solid #bbb;border-radius:4px;
background:#fff;padding:2px 10px;cursor:pointer}
button.primary{background:#007a5a;border-color:#007a5a;color:#fff}
article{border:1px solid #eee;border-radius:6px;margin:8px 0}
article header{padding:6px 10px;background:#fafafa;border-bottom:1px solid #eee;font-size:13px}
.muted{color:#616061}
.notice{background:#e8f5fa;border:1px solid #b6dcee;border-radius:6px;padding:8px 12px}
.notice.error{background:#fde7e9;border-color:#f4b7bd}
main.login{max-width:360px;margin:80px auto}
main.login label{display:block;margin:12px 0}
main.login input{display:block;width:100%;padding:6px;margin-top:4px}
td,.preview{overflow-wrap:anywhere}
header.top{flex-wrap:wrap}
@media (max-width:640px){
header.top{padding:8px 12px;gap:8px}
main{padding:8px}
section{padding:10px}
#summary{gap:12px 18px}
table,tbody,tr,td{display:block;width:100%}
thead{display:none}
tr{border-bottom:1px solid #eee;padding:6px 0}
td{border:0;padding:2px 0}
td[data-label]:not([data-label=""])::before{content:attr(data-label) ": ";color:#616061;
font-size:12px}
form.inline{margin-left:0}
}
"""
