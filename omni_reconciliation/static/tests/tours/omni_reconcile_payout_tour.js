/** Reconcile a payout: open it, see its lines and differences, confirm a suggested match, post,
 * match the bank deposit, open the journal entry. */
import { registry } from "@web/core/registry";
import { screenshot } from "@omni_connector_base/../tests/tours/omni_screenshot";

registry.category("web_tour.tours").add("omni_reconcile_payout", {
    steps: () => [
        screenshot("11_payouts", ".o_list_view .o_data_row:contains('po_1QWooPayout1124')", "screenshot: the payouts"),
        {
            content: "open the Stripe payout",
            trigger: ".o_list_view .o_data_row:contains('po_1QWooPayout1124') .o_data_cell",
            run: "click",
        },
        {
            content: "its lines add up to the deposit: no difference",
            trigger: ".o_form_view .o_field_widget[name=balance_difference]:contains('0.00')",
        },
        {
            content: "one line waits for a person: open the lines",
            trigger: ".o_form_view .o_field_widget[name=suggested_count]:contains('1')",
        },
        screenshot("12_payout", ".o_form_view .o_field_widget[name=balance_difference]",
            "screenshot: a payout, its lines, totals and difference"),
        {
            content: "the payout's lines",
            trigger: ".o_form_view button.oe_stat_button[name=action_view_lines]",
            run: "click",
        },
        {
            // the payout's form lists its lines too: wait for the Payout Lines list to replace it
            content: "the Payout Lines list is open",
            trigger: ".o_breadcrumb:contains('Payout Lines')",
        },
        {
            content: "open the suggested line",
            trigger: "body:not(:has(.o_form_view)) .o_list_view .o_data_row:contains('Suggested') .o_data_cell",
        },
        screenshot("13_payout_lines", "body:not(:has(.o_form_view)) .o_list_view .o_data_row:contains('Suggested')",
            "screenshot: the payout's lines, one suggested match"),
        {
            content: "open the suggested line",
            trigger: "body:not(:has(.o_form_view)) .o_list_view .o_data_row:contains('Suggested') .o_data_cell",
            run: "click",
        },
        {
            content: "confirm the suggested payment",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_confirm_match]",
            run: "click",
        },
        {
            content: "the line is matched",
            trigger: ".o_form_view .o_field_widget[name=match_state] button.o_arrow_button_current:contains('Matched')",
        },
        {
            content: "back to the payout",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_open_settlement]",
            run: "click",
        },
        {
            content: "post the payout",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_post]",
            run: "click",
        },
        {
            content: "match the bank deposit",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_bank_match]",
            run: "click",
        },
        {
            content: "the payout is reconciled",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Reconciled')",
            timeout: 60000,
        },
        screenshot("14_payout_reconciled", ".o_form_view .o_statusbar_status",
            "screenshot: the payout posted and matched to its bank line"),
        {
            content: "open the journal entry",
            trigger: ".o_form_view button.oe_stat_button[name=action_view_move]",
            run: "click",
        },
        {
            content: "the posted entry of the payout",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Posted')",
            timeout: 60000,
        },
        screenshot("15_journal_entry", ".o_form_view .o_statusbar_status", "screenshot: the payout's journal entry"),
    ],
});
