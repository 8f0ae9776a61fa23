/** Work an exception: an order with an unknown SKU -> open the exception -> Map / Create Products
 * (create it) -> the event replays -> Process Now -> the sale order exists and is confirmed. */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("omni_exception_unknown_sku", {
    steps: () => [
        {
            content: "open the unknown SKU's exception",
            trigger: ".o_list_view .o_data_row:contains('TOUR-BEANIE') .o_data_cell",
            run: "click",
        },
        {
            content: "the exception names the SKU and what to do",
            trigger: ".o_form_view:contains('Unknown SKU TOUR-BEANIE')",
        },
        {
            content: "Map / Create Products",
            trigger: ".o_form_view .o_statusbar_buttons button:contains('Map / Create Products')",
            run: "click",
        },
        {
            content: "tick Create on the unknown item",
            trigger: ".modal .o_data_row:contains('TOUR-BEANIE') .o_data_cell[name=create_product]",
            run: "click",
        },
        {
            content: "tick it",
            trigger: ".modal .o_data_row:contains('TOUR-BEANIE') [name=create_product] input",
            run: "check",
        },
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
            content: "the event is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Done'), .o_form_view .o_field_widget[name=state] :contains('Done')",
        },
        {
            content: "open the sale order",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_open_result]",
            run: "click",
        },
        {
            content: "the sale order is confirmed",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Sales Order')",
        },
    ],
});
