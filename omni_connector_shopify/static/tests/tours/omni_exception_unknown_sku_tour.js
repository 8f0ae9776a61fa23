/** Work an exception: an order with an unknown SKU -> open the exception -> Map / Create Products
 * (create it) -> the event replays -> Process Now -> the sale order exists and is confirmed. */
import { registry } from "@web/core/registry";
import { screenshot } from "@omni_connector_base/../tests/tours/omni_screenshot";

registry.category("web_tour.tours").add("omni_exception_unknown_sku", {
    steps: () => [
        screenshot("07_exceptions", ".o_list_view .o_data_row:contains('DEMO-BEANIE-RED')", "screenshot: the exception queue"),
        {
            content: "open the unknown SKU's exception",
            trigger: ".o_list_view .o_data_row:contains('DEMO-BEANIE-RED') .o_data_cell",
            run: "click",
        },
        {
            content: "the exception names the SKU and what to do",
            trigger: ".o_form_view:contains('Unknown SKU DEMO-BEANIE-RED')",
        },
        screenshot("08_exception_unknown_sku", ".o_form_view:contains('Unknown SKU DEMO-BEANIE-RED')",
            "screenshot: the unknown SKU, what to do"),
        {
            content: "Map / Create Products",
            trigger: ".o_form_view .o_statusbar_buttons button:contains('Map / Create Products')",
            run: "click",
        },
        {
            content: "tick Create on the unknown item",
            trigger: ".modal .o_data_row:contains('DEMO-BEANIE-RED') .o_data_cell[name=create_product]",
            run: "click",
        },
        {
            content: "tick it",
            trigger: ".modal .o_data_row:contains('DEMO-BEANIE-RED') [name=create_product] input",
            run: "check",
        },
        screenshot("09_map_create_products", ".modal [name=create_product] input:checked",
            "screenshot: Map / Create Products"),
        { content: "Map and Retry", trigger: ".modal button[name=action_apply]", run: "click" },
        {
            content: "back on the exception: open its event",
            trigger: "body:not(:has(.modal)) .o_form_view .o_field_widget[name=event_id] a",
            run: "click",
        },
        {
            content: "the event is queued again: process it now",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_process_now]",
            run: "click",
        },
        {
            // the current step only: "Done" is always on the statusbar (a step not reached yet), and the
            // import takes seconds on a loaded machine
            content: "the event is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Done')",
            timeout: 60000,
        },
        {
            content: "open the sale order",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_open_result]",
            run: "click",
        },
        {
            content: "the sale order is confirmed",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Sales Order')",
            timeout: 60000,
        },
        screenshot("10_sale_order", ".o_form_view .o_statusbar_status", "screenshot: the confirmed sale order"),
    ],
});
