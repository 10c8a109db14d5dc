'use strict';
// bench/common.js - what bench/harness.js and bench/peer_worker.js share:
// the wall clock in microseconds, the ~1 KiB invoice payload and the
// realistic handler's compute (the same work bench/plugins/bench_json.c does).

// CLOCK_REALTIME in microseconds, with sub-millisecond resolution
// (Date.now() has only milliseconds). harness.js checks it against the C
// clock_gettime(CLOCK_REALTIME) that bench_latency.so uses.
function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

// A ~1 KiB invoice with 20 line items; `i` varies the ids so jobs differ.
function invoice(i) {
  const items = [];
  for (let k = 0; k < 20; k++) {
    items.push({ sku: `SKU-${String(1000 + k)}`, qty: 1 + ((i + k) % 5), unit_cents: 199 + k * 37 });
  }
  return {
    invoice_id: `INV-${String(i).padStart(8, '0')}`,
    customer: { id: `C-${i % 977}`, name: 'ACME Widgets GmbH', country: 'DE' },
    currency: 'EUR',
    tax_rate: 0.19,
    items,
  };
}

// Parse-free part of the realistic handler: sum qty * unit_cents over the
// items and apply the tax rate, skipping items whose fields are not numbers.
function invoiceTotal(inv) {
  let sum = 0;
  let n = 0;
  for (const it of inv.items || []) {
    if (typeof it.qty === 'number' && typeof it.unit_cents === 'number') {
      sum += it.qty * it.unit_cents;
      n++;
    }
  }
  if (typeof inv.tax_rate === 'number') sum *= 1 + inv.tax_rate;
  return { total_cents: Math.round(sum), items: n };
}

module.exports = { nowUs, invoice, invoiceTotal };
