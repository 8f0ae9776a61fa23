/** Connect a Shopify channel through Omnichannel > Configuration > Connect a channel, against the
 * local simulator (its address is in the system parameter the test sets): credentials, a wrong
 * token first (the message names it), Test connection, taxes detected and mapped, webhooks
 * registered, the product matching report, the first import. */
import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";
import { screenshot } from "@omni_connector_base/../tests/tours/omni_screenshot";

async function param(key) {
    return rpc("/web/dataset/call_kw/ir.config_parameter/get_param", {
        model: "ir.config_parameter",
        method: "get_param",
        args: [key],
        kwargs: {},
    });
}

function credential(label, value, field = "value") {
    return [
        {
            content: `click the ${label} value`,
            trigger: `.modal .o_field_one2many[name=credential_ids] .o_data_row:has(.o_data_cell[name=label]:contains("${label}")) .o_data_cell[name=${field}]`,
            run: "click",
        },
        {
            content: `type the ${label}`,
            trigger: `.modal .o_field_one2many[name=credential_ids] .o_data_row.o_selected_row [name=${field}] input`,
            async run(actions) {
                await actions.edit(typeof value === "function" ? await value() : value);
            },
        },
    ];
}

registry.category("web_tour.tours").add("omni_connect_shopify", {
    steps: () => [
        {
            content: "choose Shopify",
            trigger: ".modal .o_field_radio[name=channel] label:contains('Shopify')",
            run: "click",
        },
        {
            content: "name the channel",
            trigger: ".modal .o_field_widget[name=name] input",
            // not the "edit ..." run string: the tour's parser strips a trailing ")" from its argument
            async run(actions) {
                await actions.edit("Omni Demo Store (Shopify)");
            },
        },
        screenshot("02_connect_channel", ".modal .o_field_widget[name=name] input:value(/Shopify/)",
            "screenshot: Connect a channel, step one"),
        { content: "next: credentials", trigger: ".modal button[name=action_next]", run: "click" },
        {
            content: "the credentials asked are Shopify's only (no other connector's fields)",
            trigger: ".modal .o_field_one2many[name=credential_ids]:has(.o_data_row:contains('Shop Domain')):not(:has(.o_data_row:contains('Signing Private Key'))):not(:has(.o_data_row:contains('LWA Client ID'))):not(:has(.o_data_row:contains('Consumer Key')))",
        },
        ...credential("Shop Domain", "tour-store.myshopify.com"),
        ...credential("API Base URL Override", () => param("omni_tour.shopify_sim_url")),
        ...credential("Access Token", "shpat_wrong_token", "secret_value"),
        { content: "test the connection", trigger: ".modal button[name=action_test_connection]", run: "click" },
        {
            content: "the wrong token is named",
            trigger: ".modal .alert-danger:contains('refused the credentials')",
        },
        screenshot("03_connect_wrong_token", ".modal .alert-danger", "screenshot: the wrong token, named"),
        ...credential("Access Token", () => param("omni_tour.shopify_sim_token"), "secret_value"),
        { content: "test again", trigger: ".modal button[name=action_test_connection]", run: "click" },
        { content: "connected", trigger: ".modal .alert-success:contains('Connected to')" },
        { content: "next: warehouse", trigger: ".modal button[name=action_next]", run: "click" },
        { content: "a warehouse is proposed", trigger: ".modal .o_field_widget[name=warehouse_id] input:value(/./)" },
        { content: "next: taxes", trigger: ".modal button[name=action_next]", run: "click" },
        {
            content: "the shop's 19% rate is detected with its Odoo tax",
            trigger: ".modal .o_field_one2many[name=tax_line_ids] .o_data_row:contains('19.0000'):contains('VAT 19% (included)')",
        },
        screenshot("04_connect_taxes", ".modal .o_field_one2many[name=tax_line_ids] .o_data_row",
            "screenshot: the channel's tax rates and their Odoo taxes"),
        { content: "next: webhooks", trigger: ".modal button[name=action_next]", run: "click" },
        { content: "register the webhooks", trigger: ".modal button[name=action_register_webhooks]", run: "click" },
        { content: "webhooks created", trigger: ".modal .alert-info:contains('created')" },
        { content: "next: products", trigger: ".modal button[name=action_next]", run: "click" },
        { content: "the matching summary", trigger: ".modal .o_field_widget[name=match_summary]:contains('Matched: 2')" },
        screenshot("05_connect_products", ".modal .o_field_widget[name=match_summary]",
            "screenshot: the product matching summary"),
        { content: "next: first import", trigger: ".modal button[name=action_next]", run: "click" },
        {
            content: "the step opens with no date picker over it (the dialog focuses the button, not the date)",
            trigger: "body:not(:has(.o_datetime_picker)) .modal button[name=action_first_import]:focus",
        },
        { content: "start the first import", trigger: ".modal button[name=action_first_import]", run: "click" },
        {
            content: "reopened after the import: still no date picker",
            trigger: "body:not(:has(.o_datetime_picker)) .modal .alert-info:contains('background')",
        },
        { content: "the import runs in the background", trigger: ".modal .alert-info:contains('background')" },
        { content: "finish", trigger: ".modal button[name=action_finish]", run: "click" },
        { content: "the new channel's form", trigger: ".o_breadcrumb:contains('Omni Demo Store (Shopify)')" },
        {
            content: "no dialog and no date picker left open over the form",
            trigger: "body:not(:has(.modal)):not(:has(.o_datetime_picker)) .o_form_view .o_field_widget[name=name]",
        },
        screenshot("06_channel_form", ".o_form_view .o_field_widget[name=name]", "screenshot: the new channel"),
    ],
});
