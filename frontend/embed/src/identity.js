// The signed-in customer as the shop's theme renders it, signed on the shop's server with the storefront secret:
//
//   <script type="application/json" id="klubb-customer">
//     {"customer_id": "7001", "email": "kari@example.com", "timestamp": 1765000000, "signature": "<hex>"}
//   </script>
//
// No block (a visitor), or one that is not this shape, means the visitor view; Klubb refuses a tampered or
// expired one, which means the visitor view too. The widget never decides who someone is by itself.

export const IDENTITY_ID = "klubb-customer";

export function readIdentity(doc = document) {
  const block = doc.getElementById(IDENTITY_ID);
  if (!block) return null;
  let data;
  try {
    data = JSON.parse(block.textContent || "");
  } catch {
    return null;
  }
  if (!data || typeof data !== "object") return null;
  const customerId = data.customer_id === undefined || data.customer_id === null ? "" : String(data.customer_id);
  const email = typeof data.email === "string" ? data.email : "";
  const timestamp = Number(data.timestamp);
  const signature = typeof data.signature === "string" ? data.signature : "";
  if (!(customerId || email) || !Number.isInteger(timestamp) || !signature) return null;
  return { customer_id: customerId, email, timestamp, signature };
}
